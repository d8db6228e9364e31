// `npm run bench:load`: 1,000 jobs in flight at once in one process — the real engine, store,
// scheduler and WaveSpeed client — against a fake WaveSpeed on 127.0.0.1 (run times scaled
// down to ~3 s), delivered to a sink instead of Discord. Prints figures, then one JSON line.
// `JOBS=10000 npm run bench:load` is the large check (goals: RSS growth < 300 MB, loop p99 < 50 ms).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { createHttp } from '../src/net/http.js';
import { openStore } from '../src/store/keyv.js';
import { benchEngine, benchSink, benchRequest } from './bench/world.js';

const JOBS = Number(process.env.JOBS ?? 1000);
const RUN_MS = Number(process.env.RUN_MS ?? 3000);

const fake = spawn(
  process.execPath,
  ['--import', 'tsx', join(import.meta.dirname, 'bench/fake-provider.ts')],
  {
    env: { ...process.env, JOBS: String(JOBS), RUN_MS: String(RUN_MS) },
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const firstLine = await new Promise<string>((res) =>
  createInterface({ input: fake.stdout }).once('line', res),
);
const { baseUrl } = JSON.parse(firstLine) as { baseUrl: string };

const dir = mkdtempSync(join(tmpdir(), 'animate-bench-'));
const store = await openStore(`sqlite://${join(dir, 'store.sqlite')}`, (e) => {
  throw e;
});
const http = createHttp();
const log = pino({ level: 'warn' });
const delivered = new Set<string>();
let posted = 0;
// Jobs accepted and not yet delivered, at most: accepting is not instant, so with many jobs the
// first ones may finish before the last are in, and "in flight" is what was actually open at once.
let acceptedSoFar = 0;
let peakInFlight = 0;
let allDone: () => void = () => undefined;
const done = new Promise<void>((res) => (allDone = res));
const sink = benchSink({
  postResult: (job, video) => {
    posted++;
    if (!video.bytes) return Promise.reject(new Error('expected the video bytes'));
    peakInFlight = Math.max(peakInFlight, acceptedSoFar - delivered.size);
    delivered.add(job.id);
    if (delivered.size === JOBS) allDone();
    return Promise.resolve({ messageId: `r${job.id}` });
  },
});
const { engine } = benchEngine({ store: store.keyv, http, baseUrl, delivery: sink, runMs: RUN_MS, log });

global.gc?.();
const baseline = process.memoryUsage().rss;
let peak = baseline;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
const started = performance.now();

const accepted = await Promise.all(
  Array.from({ length: JOBS }, (_, i) =>
    engine.accept(benchRequest(`user${i}`, i, 'http://127.0.0.1:1/unused.png')).then((result) => {
      acceptedSoFar++;
      return result;
    }),
  ),
);
const acceptedMs = performance.now() - started;
// Generous for 10,000 jobs too: a bench that stops early would hide a job that never finished.
const timeout = setTimeout(() => allDone(), 120_000 + JOBS * 30);
await done;
clearTimeout(timeout);
const wallMs = performance.now() - started;
delay.disable();
clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage().rss);

await engine.stop();
await http.close();
await store.close();
fake.kill('SIGTERM');
rmSync(dir, { recursive: true, force: true });

const figures = {
  bench: 'load',
  jobs: JOBS,
  accepted: accepted.filter((r) => r.ok).length,
  delivered: delivered.size,
  duplicatePosts: posted - delivered.size,
  peakInFlight,
  runMsMean: RUN_MS,
  wallS: +(wallMs / 1000).toFixed(2),
  acceptAllS: +(acceptedMs / 1000).toFixed(2),
  rssGrowthMB: +((peak - baseline) / 1024 / 1024).toFixed(1),
  eventLoopDelayP99Ms: +(delay.percentile(99) / 1e6).toFixed(1),
  eventLoopDelayMaxMs: +(delay.max / 1e6).toFixed(1),
};
process.stdout.write(
  [
    `jobs in flight          ${figures.jobs} (fake WaveSpeed in its own process, run times ~${RUN_MS} ms log-normal)`,
    `accepted / delivered    ${figures.accepted} / ${figures.delivered} (duplicate posts: ${figures.duplicatePosts})`,
    `peak open at once       ${figures.peakInFlight} (accepted and not yet delivered)`,
    `wall time               ${figures.wallS} s (accepting all: ${figures.acceptAllS} s)`,
    `peak RSS growth         ${figures.rssGrowthMB} MB`,
    `event-loop delay        p99 ${figures.eventLoopDelayP99Ms} ms, max ${figures.eventLoopDelayMaxMs} ms`,
    JSON.stringify(figures),
  ].join('\n') + '\n',
);
process.exit(figures.delivered === JOBS ? 0 : 1);
