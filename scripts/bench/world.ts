// What the engine benches share: the fake provider in its own process, the engine settings they
// run with, the request they send, and the figures they sample.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { EngineSettings } from '../../src/engine/context.js';
import { ENGINE_DEFAULTS } from '../../src/engine/context.js';
import { systemClock } from '../../src/engine/clock.js';
import type { Delivery } from '../../src/engine/delivery.js';
import { createEngine, type Engine } from '../../src/engine/engine.js';
import type { Logger } from '../../src/logger.js';
import type { Http } from '../../src/net/http.js';
import { createWaveSpeedProvider } from '../../src/providers/wavespeed.js';
import { createJobStore, type JobStore } from '../../src/store/jobs.js';
import type { Store } from '../../src/store/keyv.js';
import { createKeyvEconomy } from '../../src/store/economy-keyv.js';

type AcceptInput = Parameters<Engine['accept']>[0];

export const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

export interface FakeProcess {
  child: ChildProcess;
  baseUrl: string;
  /** The fake's upload sink and input image server (SINK=1). */
  sinkUrl: string | undefined;
  /** Every later JSON line the fake prints. */
  onLine(listener: (line: Record<string, unknown>) => void): void;
  stop(): void;
}

/** Starts scripts/bench/fake-provider.ts with `env` (see its header) and waits for its address. */
export async function startFakeProvider(env: Record<string, string>): Promise<FakeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fake-provider.ts')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const listeners: ((line: Record<string, unknown>) => void)[] = [];
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolve) => lines.once('line', resolve));
  lines.on('line', (line) => {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    for (const listener of listeners) listener(parsed);
  });
  const { baseUrl, sinkUrl } = JSON.parse(first) as { baseUrl: string; sinkUrl?: string };
  return {
    child,
    baseUrl,
    sinkUrl,
    onLine: (listener) => void listeners.push(listener),
    stop: () => void child.kill('SIGTERM'),
  };
}

/** The settings every bench runs the engine with: production retry limits, a generous deadline. */
export function benchSettings(runMs: number): EngineSettings {
  return {
    ...ENGINE_DEFAULTS,
    expectedRunMs: { 'wavespeed/ray-2-flash': runMs, 'wavespeed/ray-2': runMs, 'fal/ray-2-flash': runMs },
    jobDeadlineMs: 10 * 60_000,
    outputMaxBytes: 100 * 1024 * 1024,
    outputDownloadTimeoutMs: 60_000,
    maxActivePerMember: 2,
    providerCaps: {},
    failover: false,
    nsfwPolicy: 'spoiler',
    creditsScope: 'guild',
    mediaMemoryBytes: Number(process.env.MEDIA_MEMORY_MB ?? 256) * 1024 * 1024,
  };
}

/** One /animate request from `userId`, its input image at `sourceUrl`. */
export function benchRequest(userId: string, i: number, sourceUrl: string): AcceptInput {
  return {
    userId,
    guildId: 'guild',
    channelId: `channel-${userId}`,
    attachmentSizeLimit: 25 * 1024 * 1024,
    request: { model: 'wavespeed/ray-2-flash', prompt: `job ${i}`, aspectRatio: '16:9', durationSeconds: 5 },
    image: { sourceUrl, bytes: PNG, contentType: 'image/png', extension: 'png' },
  };
}

/** Samples RSS every `everyMs` from now on; `peakGrowth` is over the RSS at the start. */
export function sampleRss(everyMs: number): { baseline: number; stop(): { peakGrowthBytes: number } } {
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), everyMs);
  return {
    baseline,
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage().rss);
      return { peakGrowthBytes: peak - baseline };
    },
  };
}

/** The p-th percentile (0–100) of `values`, nearest rank; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const MB = 1024 * 1024;

/** A Delivery for benches: a status place per job, nothing else visible; `parts` adds the rest. */
export function benchSink(parts: Pick<Delivery, 'postResult'> & Partial<Delivery>): Delivery {
  return {
    openStatus: (job) =>
      Promise.resolve({
        statusChannelId: job.channelId,
        statusMessageId: `s${job.id}`,
        threadId: job.channelId,
      }),
    showStatus: () => Promise.resolve(),
    isAgeRestricted: () => Promise.resolve(false),
    findPost: () => Promise.resolve(undefined),
    offerRerun: () => Promise.resolve(),
    postFailure: (job, text) => {
      process.stderr.write(`job ${job.id} failed: ${text}\n`);
      return Promise.resolve();
    },
    tellPrivately: () => Promise.resolve(true),
    ...parts,
  };
}

/** The real engine on `store`, with WaveSpeed Flash at `baseUrl` (a fake), delivering to `delivery`. */
export function benchEngine(opts: {
  store: Store;
  http: Http;
  baseUrl: string;
  delivery: Delivery;
  runMs: number;
  log: Logger;
  startingCredits?: number;
}): { engine: Engine; jobs: JobStore } {
  const jobs = createJobStore(opts.store);
  const provider = createWaveSpeedProvider({
    http: opts.http,
    baseUrl: opts.baseUrl,
    apiKey: 'bench-key',
    endpoint: 'luma/ray-2-flash-i2v',
  });
  const engine = createEngine({
    settings: benchSettings(opts.runMs),
    log: opts.log,
    economy: createKeyvEconomy({ keyv: opts.store, startingCredits: opts.startingCredits ?? 100 }),
    policy: () => Promise.resolve({}),
    jobs,
    providers: new Map([['wavespeed/ray-2-flash', provider]]),
    http: opts.http,
    delivery: opts.delivery,
    clock: systemClock,
  });
  return { engine, jobs };
}

/** The JSON lines of an append-only log file (the soak's posts and acceptances); none if absent. */
export function readLines<T>(file: string): T[] {
  return existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as T)
    : [];
}
