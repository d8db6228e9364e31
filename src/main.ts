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
import { createDiscordClient, destroyDiscordClient } from './discord/client.js';
import { createFollowUps } from './discord/followups.js';
import { clientShards, ownsGuild } from './discord/shards.js';
import { routeInteractions } from './discord/interactions.js';
import { routeReactions } from './discord/reactions.js';
import { systemClock, type Clock } from './engine/clock.js';
import type { Policy } from './engine/context.js';
import { createEngine, type Engine } from './engine/engine.js';
import { engineSettingsFrom } from './engine/settings-from-config.js';
import { createLogger, type Logger } from './logger.js';
import { createImageFetcher } from './media/fetch-image.js';
import { createHttp } from './net/http.js';
import type { OpsServer } from './ops/http-server.js';
import { createMetrics } from './ops/metrics.js';
import { startOps } from './ops/start.js';
import { availability, createOptimizer, createProviders } from './providers/registry.js';
import { createJobStore } from './store/jobs.js';
import { openStore } from './store/keyv.js';
import { createGuildSettingsStore, type GuildSettingsStore } from './store/guild-settings.js';
import { watchParent } from './parent.js';
import { isShardHint } from './webhooks/shard-hint.js';
import { signingKeysFrom } from './webhooks/keys.js';
import { startWebhookListener, type WebhookListener } from './webhooks/listener.js';

export interface Bot {
  client: Client;
  engine: Engine;
  log: Logger;
  /** Where /healthz and /metrics answer, when METRICS_PORT is set. */
  metricsUrl?: string;
  /** Where the webhook listener answers, when PUBLIC_URL is set. */
  webhookUrl?: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  logDestination?: DestinationStream;
  clock?: Clock;
}

/** A start refused before anything ran: its message is the one line the operator reads. */
export class StartError extends Error {
  override readonly name = 'StartError';
}

/** In-flight steps get this long to finish or stop after SIGTERM; the process is gone by 10 s. */
const STOP_DEADLINE_MS = 8000;

export async function startBot(config: Config, opts: StartOptions = {}): Promise<Bot> {
  const models = availability(config);
  if (models.defaultModel === undefined) {
    throw new StartError('no provider key is set: set WAVESPEED_API_KEY (WaveSpeed) or FAL_KEY (fal.ai)');
  }
  const defaultModel = models.defaultModel;
  const secrets = [config.DISCORD_TOKEN, config.WAVESPEED_API_KEY, config.FAL_KEY].filter(
    (s): s is string => !!s,
  );
  // The client first, for one fact: a process a sharding manager started knows its shard from
  // the start, and every line it logs names it and the process (docs/sharding.md).
  const client = createDiscordClient({ apiUrl: config.DISCORD_API_URL, shardCount: config.SHARD_COUNT });
  const log = createLogger({
    level: config.LOG_LEVEL,
    pretty: config.LOG_PRETTY,
    secrets,
    ...(opts.logDestination ? { destination: opts.logDestination } : {}),
    ...(client.shard ? { base: { shard: shardField(clientShards(client).ids), pid: process.pid } } : {}),
  });
  for (const { model, setting } of models.off) {
    log.warn({ model, setting }, `model ${model} is off: ${setting} is not set`);
  }
  const store = await openStore(config.STORE_URL, (error) => log.error({ err: error }, 'store error'));
  const http = createHttp();
  // Health and metrics (docs/operations.md): only with METRICS_PORT, so nothing is counted otherwise.
  const metrics = config.METRICS_PORT === undefined ? undefined : createMetrics({ log });
  // Under start:sharded the manager runs the one listener and passes each hint to its shards
  // (docs/push.md, "Under start:sharded"); a lone bot listens itself.
  const listens = config.PUBLIC_URL !== undefined && !client.shard;
  const providers = createProviders(config, http, metrics?.telemetry);
  const clock = opts.clock ?? systemClock;
  const economy = store.economy({ startingCredits: config.STARTING_CREDITS, now: () => clock.now() });
  const settings = createGuildSettingsStore(store.keyv);
  const jobs = createJobStore(store.keyv, store.openIndex);
  const ownsJobsOf = ownsGuild(client);
  const followUps = createFollowUps();
  const delivery = createDelivery(client, log, followUps);
  const engine = createEngine({
    settings: engineSettingsFrom(config),
    log,
    economy,
    policy: policyFrom(settings),
    jobs,
    sharedSlots: store.slots,
    owns: (job) => ownsJobsOf(job.guildId),
    providers,
    optimizer: createOptimizer(config, http, metrics?.telemetry),
    http,
    delivery,
    clock,
    telemetry: metrics?.telemetry,
  });
  let stopping = false;
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
    defaultModel,
    log,
    stopping: () => stopping,
  });
  routeReactions(client, { engine, delivery, settings, log, stopping: () => stopping });
  client.on(Events.Error, (error) => log.error({ err: error }, 'discord client error'));

  let ops: OpsServer | undefined;
  let webhooks: WebhookListener | undefined;
  let started = false;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // New interactions are told to come back while in-flight steps finish or stop (the engine
    // aborts polls and downloads at once; a submit already sent is waited for, up to the deadline).
    stopping = true;
    const deadline = new Promise<'late'>((resolve) => setTimeout(resolve, STOP_DEADLINE_MS, 'late').unref());
    if ((await Promise.race([engine.stop(), deadline])) === 'late') {
      log.warn(
        { deadlineMs: STOP_DEADLINE_MS },
        'steps still running at the stop deadline; they resume at the next start',
      );
    }
    await webhooks?.close();
    await ops?.close();
    await destroyDiscordClient(client);
    await http.close();
    await store.close();
    // A start that failed says so in one line of its own (run()); no log lines of ours after it.
    if (started) log.info('stopped');
  };

  try {
    // Listening before the login: /healthz says 503 (gateway) until the bot is connected.
    if (metrics && config.METRICS_PORT !== undefined)
      ops = await startOps({
        host: config.METRICS_HOST,
        port: config.METRICS_PORT,
        metrics,
        engine,
        economy,
        client,
        keyv: store.keyv,
        log,
      });
    // Before the login too: a job resumed below may be told of its end at once.
    if (client.shard && config.PUBLIC_URL !== undefined)
      process.on('message', (message) => {
        if (isShardHint(message)) engine.hint(message.provider, message.taskId);
      });
    if (listens)
      webhooks = await startWebhookListener({
        port: config.WEBHOOK_PORT,
        log,
        hint: (provider, taskId) => engine.hint(provider, taskId),
        ...signingKeysFrom(config, http),
      });
    const ready = once(client, Events.ClientReady);
    await client.login(config.DISCORD_TOKEN);
    await ready;
    started = true;
    const user = client.user?.tag ?? 'an unknown user';
    const servers = client.guilds.cache.size;
    const shards = clientShards(client);
    log.info(
      {
        user,
        servers,
        store: store.location,
        models: models.on,
        defaultModel,
        ...(shards.count > 1 ? { shards: shards.ids, shardCount: shards.count } : {}),
      },
      `logged in as ${user}, ${servers} ${servers === 1 ? 'server' : 'servers'}, store ${store.location}`,
    );
    await engine.resume();
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
  return {
    client,
    engine,
    log,
    stop,
    ...(ops ? { metricsUrl: ops.url } : {}),
    ...(webhooks ? { webhookUrl: webhooks.url } : {}),
  };
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
    // The last word: whatever still runs at 10 s is left for the next start, like after a crash.
    setTimeout(() => {
      running.log.warn('shutdown took 10 s; exiting now');
      process.exit(0);
    }, 9800).unref();
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
