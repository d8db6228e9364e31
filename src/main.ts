// Composition root: config → logger → store → providers → job engine → Discord client.
// Also the entry point of `npm start`, with clean shutdown on SIGTERM and SIGINT.
import { once } from 'node:events';
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Events, type Client } from 'discord.js';
import type { DestinationStream } from 'pino';
import { commands } from './commands/index.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createDelivery } from './discord/delivery.js';
import { createDiscordClient } from './discord/client.js';
import { createFollowUps } from './discord/followups.js';
import { clientShards, ownsGuild } from './discord/shards.js';
import { routeInteractions } from './discord/interactions.js';
import { routeReactions } from './discord/reactions.js';
import { systemClock, type Clock } from './engine/clock.js';
import { ENGINE_DEFAULTS, type Policy } from './engine/context.js';
import { createEngine, type Engine } from './engine/engine.js';
import { createLogger, type Logger } from './logger.js';
import { createImageFetcher } from './media/fetch-image.js';
import { createHttp } from './net/http.js';
import { MODEL_IDS, MODELS, type ModelId } from './providers/catalog.js';
import { createProviders } from './providers/registry.js';
import { createJobStore } from './store/jobs.js';
import { openStore } from './store/keyv.js';
import { createGuildSettingsStore, type GuildSettingsStore } from './store/guild-settings.js';
import { watchParent } from './parent.js';

export interface Bot {
  client: Client;
  engine: Engine;
  log: Logger;
  stop(): Promise<void>;
}

export interface StartOptions {
  logDestination?: DestinationStream;
  clock?: Clock;
}

export async function startBot(config: Config, opts: StartOptions = {}): Promise<Bot> {
  const secrets = [config.DISCORD_TOKEN, config.WAVESPEED_API_KEY, config.FAL_KEY].filter(
    (s): s is string => !!s,
  );
  // The client first, for one fact: a process a sharding manager started knows its shard from
  // the start, and every line it logs names it and the process (docs/sharding.md).
  const client = createDiscordClient({ apiUrl: config.DISCORD_API_URL, shardCount: config.SHARD_COUNT });
  const log = createLogger({
    level: config.LOG_LEVEL,
    secrets,
    ...(opts.logDestination ? { destination: opts.logDestination } : {}),
    ...(client.shard ? { base: { shard: shardField(clientShards(client).ids), pid: process.pid } } : {}),
  });
  const store = await openStore(config.STORE_URL, (error) => log.error({ err: error }, 'store error'));
  const http = createHttp();
  const providers = createProviders(config, http);
  const clock = opts.clock ?? systemClock;
  const economy = store.economy({ startingCredits: config.STARTING_CREDITS, now: () => clock.now() });
  const settings = createGuildSettingsStore(store.keyv);
  const jobs = createJobStore(store.keyv, store.openIndex);
  const ownsJobsOf = ownsGuild(client);
  const followUps = createFollowUps();
  const delivery = createDelivery(client, log, followUps);
  const engine = createEngine({
    settings: {
      ...ENGINE_DEFAULTS,
      expectedRunMs: expectedRunTimes(config.EXPECTED_RUN_MS),
      jobDeadlineMs: config.JOB_DEADLINE_MS,
      outputMaxBytes: config.OUTPUT_MAX_BYTES,
      outputDownloadTimeoutMs: config.OUTPUT_DOWNLOAD_TIMEOUT_MS,
      maxActivePerMember: config.MAX_ACTIVE_JOBS_PER_MEMBER,
      creditsScope: config.CREDITS_SCOPE,
      rerunCooldownMs: config.RERUN_COOLDOWN_S * 1000,
      providerCaps: config.PROVIDER_MAX_ACTIVE,
      failover: config.FAILOVER,
      nsfwPolicy: config.NSFW_POLICY,
      mediaMemoryBytes: config.MEDIA_MEMORY_MB * 1024 * 1024,
    },
    log,
    economy,
    policy: policyFrom(settings),
    jobs,
    sharedSlots: store.slots,
    owns: (job) => ownsJobsOf(job.guildId),
    providers,
    http,
    delivery,
    clock,
  });
  const fetchImage = createImageFetcher({
    http,
    allowedHosts: config.DISCORD_CDN_HOSTS,
    maxBytes: config.IMAGE_MAX_BYTES,
  });
  routeInteractions(client, commands, {
    followUps,
    engine,
    economy,
    settings,
    adminUserIds: new Set(config.ADMIN_USER_IDS),
    creditsScope: config.CREDITS_SCOPE,
    now: () => clock.now(),
    fetchImage,
    defaultModel: config.DEFAULT_MODEL,
    log,
  });
  routeReactions(client, { engine, delivery, settings, log });
  client.on(Events.Error, (error) => log.error({ err: error }, 'discord client error'));

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await engine.stop();
    await client.destroy();
    await http.close();
    await store.close();
    log.info('stopped');
  };

  try {
    const ready = once(client, Events.ClientReady);
    await client.login(config.DISCORD_TOKEN);
    await ready;
    const shards = clientShards(client);
    log.info(
      {
        user: client.user?.tag,
        store: store.location,
        models: [...providers.keys()],
        ...(shards.count > 1 ? { shards: shards.ids, shardCount: shards.count } : {}),
      },
      'bot ready',
    );
    await engine.resume();
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
  return { client, engine, log, stop };
}

/** One shard (as a sharding manager starts them) as its number, several as a list. */
const shardField = (ids: number[]): number | number[] => (ids.length === 1 ? (ids[0] ?? 0) : ids);

/** What a server's /animate-admin settings mean for the engine; a DM has no server rules. */
function policyFrom(settings: GuildSettingsStore): (guildId: string | null) => Promise<Policy> {
  return async (guildId) => {
    if (guildId === null) return {};
    const { allowance, cap, jobLimit } = await settings.get(guildId);
    return {
      ...(allowance && allowance.amount > 0 ? { allowance } : {}),
      ...(cap && cap.amount > 0 ? { cap: { guildId, ...cap } } : {}),
      ...(jobLimit !== undefined ? { jobLimit } : {}),
    };
  };
}

function expectedRunTimes(overrides: Partial<Record<ModelId, number>> = {}): Record<ModelId, number> {
  const entries = MODEL_IDS.map((id) => [id, overrides[id] ?? MODELS[id].expectedRunSeconds * 1000] as const);
  return Object.fromEntries(entries) as Record<ModelId, number>;
}

async function run(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env, resolve('.env'));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`animate: ${error.message}\n`);
    process.exit(1);
  }
  // Signals are handled from the first moment: a stop requested while starting is honoured
  // as soon as the start finishes.
  let bot: Bot | undefined;
  let stoppingSince: number | undefined;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stoppingSince !== undefined) {
      // A group kill delivers SIGTERM twice (the terminal's, then npm's forward): ignore echoes;
      // a signal well after the first means "stop now".
      if (Date.now() - stoppingSince > 2000) process.exit(1);
      return;
    }
    stoppingSince = Date.now();
    if (!bot) return;
    const running = bot;
    running.log.info({ signal }, 'shutting down');
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        running.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  watchParent(() => {
    process.stderr.write('animate: the process that started the bot is gone; shutting down\n');
    shutdown('SIGTERM');
  });

  try {
    bot = await startBot(config);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    process.stderr.write(`animate: could not start: ${reason}\n`);
    process.exit(1);
  }
  if (stoppingSince !== undefined) {
    stoppingSince = undefined;
    shutdown('SIGTERM');
  }
}

// Node resolves symlinks in module URLs, so compare real paths (deploys often symlink releases).
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  await run();
}
