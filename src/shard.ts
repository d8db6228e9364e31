// Entry point of `npm run start:sharded`: the bot as shard processes under discord.js's
// ShardingManager, each one `src/main.ts` for its own shard, all on one Redis. The manager only
// starts, restarts and stops them; which jobs a shard runs is decided in the shard
// (docs/sharding.md).
import type { ChildProcess } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { REST, Routes, ShardingManager, type Shard } from 'discord.js';
import { z } from 'zod';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { watchParent } from './parent.js';
import { createHttp } from './net/http.js';
import { startWebhookListener } from './webhooks/listener.js';
import { signingKeysFrom } from './webhooks/keys.js';
import type { ShardHint } from './webhooks/shard-hint.js';

export const SHARDING_DEFAULTS = {
  /** Discord lets a bot identify once per 5 s (per concurrency bucket): shards start this far apart. */
  spawnDelayMs: 5500,
  /** How long a shard may take from spawn to its gateway READY. */
  readyTimeoutMs: 90_000,
  /** How long stopping shards may take before they are killed. */
  stopTimeoutMs: 90_000,
} as const;

/** Why the config cannot run sharded, in one line; undefined when it can. */
export function shardingRefusal(config: Config): string | undefined {
  if (!/^rediss?:\/\//.test(config.STORE_URL))
    return 'start:sharded needs STORE_URL=redis://…: the shard processes share one store, and SQLite allows one process per file';
  if (config.SHARD_COUNT === 'auto' && config.SHARD_IDS !== undefined)
    return 'SHARD_IDS needs a number in SHARD_COUNT: machines that each ask Discord could get different counts and disagree on which shard owns a guild';
  return undefined;
}

const gatewayBot = z.object({ shards: z.number().int().min(1) });

/**
 * The shard count Discord recommends for the bot (GET /gateway/bot, on DISCORD_API_URL). The
 * manager's own `totalShards: 'auto'` asks discord.com whatever the REST base is set to, so we
 * ask first and hand it a number.
 */
export async function recommendedShards(config: Pick<Config, 'DISCORD_API_URL' | 'DISCORD_TOKEN'>) {
  const rest = new REST({ version: '10', api: config.DISCORD_API_URL, timeout: 15_000 });
  rest.setToken(config.DISCORD_TOKEN);
  try {
    return gatewayBot.parse(await rest.get(Routes.gatewayBot())).shards;
  } finally {
    rest.clearHashSweeper();
    rest.clearHandlerSweeper();
  }
}

/** How many shards in all, and which of them this machine runs. */
export function shardPlan(config: Config, recommended?: number): { total: number; ids: number[] } {
  const total = config.SHARD_COUNT === 'auto' ? recommended : config.SHARD_COUNT;
  if (total === undefined) throw new Error('SHARD_COUNT=auto needs the recommended count');
  return { total, ids: config.SHARD_IDS ?? Array.from({ length: total }, (_, i) => i) };
}

/**
 * Starts the shards one after another (each waits for the previous one's READY). A shard that
 * cannot start stops the whole start; once all are up, a shard that dies is started again.
 */
async function startShards(manager: ShardingManager, ids: number[], log: Logger, stopping: () => boolean) {
  manager.respawn = false;
  for (const [i, id] of ids.entries()) {
    if (i > 0) await sleep(SHARDING_DEFAULTS.spawnDelayMs);
    if (stopping()) return;
    const shard = manager.createShard(id);
    watch(shard, manager, log);
    await shard.spawn(SHARDING_DEFAULTS.readyTimeoutMs);
  }
  manager.respawn = !stopping();
}

function watch(shard: Shard, manager: ShardingManager, log: Logger): void {
  // Process mode: the child is a ChildProcess (a Worker only in worker mode, which we do not use).
  const pidOf = (child: ChildProcess | Worker) => ('pid' in child ? child.pid : undefined);
  shard.on('spawn', (child) => log.info({ shard: shard.id, pid: pidOf(child) }, 'shard spawned'));
  shard.on('ready', () => log.info({ shard: shard.id }, 'shard ready'));
  shard.on('death', (child) => {
    const exit = 'exitCode' in child ? { code: child.exitCode, signal: child.signalCode } : {};
    log.warn({ shard: shard.id, pid: pidOf(child), ...exit, respawn: manager.respawn }, 'shard died');
  });
  shard.on('error', (error) => log.error({ err: error, shard: shard.id }, 'shard could not start'));
}

/**
 * The one webhook listener of this machine's shards (docs/push.md, "Under start:sharded"): it
 * checks each delivery and passes the hint to every shard it runs; the shard with the job wakes
 * it, the others find no such job.
 */
async function listenForShards(config: Config, manager: () => ShardingManager | undefined, log: Logger) {
  const http = createHttp();
  // Not closed on stop: the manager ends its process once the shards have stopped.
  await startWebhookListener({
    port: config.WEBHOOK_PORT,
    log,
    hint: (provider, taskId) => {
      const message: ShardHint = { animate: 'webhook-hint', provider, taskId };
      let sent = false;
      for (const shard of manager()?.shards.values() ?? []) {
        if (!shard.process) continue;
        sent = true;
        shard
          .send(message)
          .catch((error: unknown) => log.warn({ err: error, shard: shard.id }, 'hint not sent'));
      }
      return sent;
    },
    ...signingKeysFrom(config, http),
  });
}

/** Asks every running shard to stop (SIGTERM, which each handles), resolves true once all exited. */
async function stopShards(manager: ShardingManager, signal: NodeJS.Signals): Promise<boolean> {
  manager.respawn = false;
  const running = [...manager.shards.values()].flatMap((s) => (s.process ? [s.process] : []));
  const exited = running.map((child) =>
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((res) => child.once('exit', () => res())),
  );
  for (const child of running) child.kill(signal);
  const deadline = sleep(SHARDING_DEFAULTS.stopTimeoutMs, 'timeout' as const);
  if ((await Promise.race([Promise.all(exited), deadline])) !== 'timeout') return true;
  for (const child of running) child.kill('SIGKILL');
  return false;
}

async function run(): Promise<void> {
  const fail = (message: string): never => {
    process.stderr.write(`animate: ${message}\n`);
    process.exit(1);
  };
  let config: Config;
  try {
    config = loadConfig(process.env, resolve('.env'));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return fail(error.message);
  }
  const refusal = shardingRefusal(config);
  if (refusal) return fail(refusal);
  const log = createLogger({
    level: config.LOG_LEVEL,
    secrets: [config.DISCORD_TOKEN, config.WAVESPEED_API_KEY, config.FAL_KEY].filter(
      (v): v is string => v !== undefined,
    ),
    base: { role: 'manager' },
  });

  let stoppingSince: number | undefined;
  let manager: ShardingManager | undefined;
  const shutdown = (signal: NodeJS.Signals) => {
    // As in src/main.ts: echoes of one stop are ignored; a signal well after it is passed on.
    if (stoppingSince !== undefined) {
      if (Date.now() - stoppingSince > 2000)
        for (const s of manager?.shards.values() ?? []) s.process?.kill(signal);
      return;
    }
    stoppingSince = Date.now();
    log.info({ signal }, 'stopping shards');
    void (manager ? stopShards(manager, signal) : Promise.resolve(true)).then((clean) => {
      log.info({ clean }, 'stopped');
      process.exit(clean ? 0 : 1);
    });
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  watchParent(() => shutdown('SIGTERM'));

  try {
    const plan = shardPlan(
      config,
      config.SHARD_COUNT === 'auto' ? await recommendedShards(config) : undefined,
    );
    manager = new ShardingManager(resolve(import.meta.dirname, 'main.ts'), {
      totalShards: plan.total,
      shardList: plan.ids,
      mode: 'process',
      respawn: true,
      execArgv: ['--import', 'tsx'],
      token: config.DISCORD_TOKEN,
    });
    log.info({ shardCount: plan.total, shards: plan.ids, pid: process.pid }, 'starting shards');
    if (config.PUBLIC_URL !== undefined) await listenForShards(config, () => manager, log);
    await startShards(manager, plan.ids, log, () => stoppingSince !== undefined);
    if (stoppingSince === undefined) log.info({ shards: plan.ids }, 'all shards ready');
  } catch (error) {
    if (stoppingSince !== undefined) return;
    const reason = error instanceof Error ? error.message : String(error);
    log.error({ err: error }, 'could not start the shards');
    if (manager) await stopShards(manager, 'SIGTERM');
    fail(`could not start the shards: ${reason}`);
  }
}

// Node resolves symlinks in module URLs, so compare real paths (deploys often symlink releases).
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  await run();
}
