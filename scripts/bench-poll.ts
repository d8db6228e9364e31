// `npm run bench:poll [-- --seed N --jobs N]`: the real Scheduler on a virtual clock against
// simulated jobs with log-normal completion times. Compares our poll schedule with the SDKs'
// fixed intervals (docs/providers.md, "How often others poll") by status requests per job and
// by the delay between a job finishing and us knowing it, and the push modes (docs/push.md):
// signed webhooks with the safety-net polls, and fal's status stream. Ends with one JSON line of
// figures; exits 1 if the 59 s workload misses a target: polling ≤ 12 requests, mean ≤ 1.25 s,
// p95 ≤ 3 s; webhooks ≤ 2 status requests beyond the result, mean ≤ 0.5 s, p95 ≤ 2.5 s, every
// lost webhook recovered; the stream ≤ 1.1 requests.
import { parseArgs } from 'node:util';
import type { Clock } from '../src/engine/clock.js';
import {
  nextDelayFor,
  nextPollDelayMs,
  POLL_DEFAULTS,
  STREAM_SAFETY_NET,
  WEBHOOK_SAFETY_NET,
} from '../src/engine/poll-schedule.js';
import { createRunTimes } from '../src/engine/run-times.js';
import { Scheduler } from '../src/engine/scheduler.js';
import { measureStreamLoopback } from './bench/stream-loopback.js';

const RTT_MS = 50;
const CATALOGUE_MS = 59_000;
const TARGET = { requestsPerJob: 12, latencyMeanS: 1.25, latencyP95S: 3 } as const;
const PUSH_TARGET = {
  webhook: { requestsPerJob: 2, latencyMeanS: 0.5, latencyP95S: 2.5 },
  stream: { requestsPerJob: 1.1, noticedMs: 100 },
} as const;
/** Share of webhooks that never arrive. */
const LOST = 0.02;
/** Share of status streams that break once mid-job (and reconnect). */
const STREAM_BREAKS = 0.01;
const RECONNECT_MS = 500;

/** Virtual time: `run` fires timers in order, letting every promise settle before moving on. */
class VirtualClock implements Clock {
  #now = 0;
  #seq = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.#now;
  }
  setTimer(fn: () => void, delayMs: number): unknown {
    const id = this.#seq++;
    this.#timers.set(id, { at: this.#now + Math.max(0, delayMs), fn });
    return id;
  }
  clearTimer(handle: unknown): void {
    this.#timers.delete(handle as number);
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimer(resolve, ms));
  }
  async run(): Promise<void> {
    for (;;) {
      // setImmediate runs after the microtask queue is empty: every async step has scheduled its next timer.
      await new Promise((resolve) => setImmediate(resolve));
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.#timers) if (!next || entry[1].at < next[1].at) next = entry;
      if (!next) return;
      this.#timers.delete(next[0]);
      this.#now = Math.max(this.#now, next[1].at);
      next[1].fn();
    }
  }
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits));

interface Job {
  arriveAt: number;
  runMs: number;
}

/** Poisson arrivals (one every 3 s on average, so jobs overlap as on a busy bot), log-normal run times. */
function makeJobs(random: () => number, n: number, meanMs: number, cv: number): Job[] {
  const s2 = Math.log(1 + cv * cv);
  const mu = Math.log(meanMs) - s2 / 2;
  const jobs: Job[] = [];
  let t = 0;
  for (let i = 0; i < n; i++) {
    t += -3000 * Math.log(1 - random());
    const gauss = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    jobs.push({ arriveAt: t, runMs: Math.exp(mu + Math.sqrt(s2) * gauss) });
  }
  return jobs;
}

interface Strategy {
  /** Delay until the next status request, given ms since submit (0 right after submit). */
  next(elapsedMs: number): number;
  /** Told when a poll saw the job done, `elapsedMs` after submit, as the engine would be. */
  done?(elapsedMs: number): void;
}

interface Figures {
  requestsPerJob: number;
  latencyMeanS: number;
  latencyP95S: number;
}

async function simulate(jobs: readonly Job[], strategy: Strategy): Promise<Figures> {
  const clock = new VirtualClock();
  // No concurrency cap that matters: the bench measures the schedule, not the task limit.
  const scheduler = new Scheduler({
    clock,
    maxRunning: jobs.length,
    onError: (key, error) => {
      throw new Error(`job ${key} failed`, { cause: error });
    },
  });
  let requests = 0;
  const latencies: number[] = [];
  jobs.forEach((job, i) => {
    const key = `job-${i}`;
    const poll = async (): Promise<void> => {
      const sentAt = clock.now();
      requests++;
      await clock.sleep(RTT_MS);
      // The provider answers for the moment the request reached it; we know RTT later.
      if (sentAt >= job.arriveAt + job.runMs) {
        latencies.push(clock.now() - (job.arriveAt + job.runMs));
        strategy.done?.(clock.now() - job.arriveAt);
        return;
      }
      scheduler.in(key, strategy.next(clock.now() - job.arriveAt), poll);
    };
    scheduler.at(key, job.arriveAt, () => {
      scheduler.in(key, strategy.next(0), poll);
      return Promise.resolve();
    });
  });
  await clock.run();
  await scheduler.stop();
  latencies.sort((a, b) => a - b);
  const mean = latencies.reduce((a, b) => a + b, 0) / latencies.length;
  const p95 = latencies[Math.ceil(0.95 * latencies.length) - 1] ?? NaN;
  return {
    requestsPerJob: round(requests / jobs.length, 2),
    latencyMeanS: round(mean / 1000, 3),
    latencyP95S: round(p95 / 1000, 3),
  };
}

/**
 * A push mode: each job's completion is pushed to us `delayMs` later (undefined: never, a lost
 * webhook), and polled on the safety-net schedule until the push or a poll notices it.
 * `confirmRtt`: a webhook is only a hint, so one request (the result) follows it before we know;
 * a stream's event is the provider's own status, known on arrival (one-way: RTT / 2).
 */
interface PushMode {
  next(elapsedMs: number): number;
  delayMs(random: () => number): number | undefined;
  confirmRtt: boolean;
  /** Requests the push itself costs per job (the stream's GET), plus any reconnects. */
  requests(random: () => number, job: Job): { count: number; gap?: { at: number; ms: number } };
}

interface PushFigures extends Figures {
  lost: number;
  lostRecovered: number;
  lostLatencyMeanS: number;
}

async function simulatePush(jobs: readonly Job[], mode: PushMode, seed: number): Promise<PushFigures> {
  const clock = new VirtualClock();
  const random = mulberry32(seed);
  const scheduler = new Scheduler({
    clock,
    maxRunning: jobs.length,
    onError: (key, error) => {
      throw new Error(`job ${key} failed`, { cause: error });
    },
  });
  let requests = 0;
  const latencies: number[] = [];
  const lostLatencies: number[] = [];
  let lost = 0;
  jobs.forEach((job, i) => {
    const key = `job-${i}`;
    const doneAt = job.arriveAt + job.runMs;
    const delay = mode.delayMs(random);
    const extra = mode.requests(random, job);
    requests += extra.count;
    let noticed = false;
    const notice = (at: number) => {
      if (noticed) return;
      noticed = true;
      scheduler.cancel(key);
      latencies.push(at - doneAt);
      if (delay === undefined) lostLatencies.push(at - doneAt);
    };
    if (delay === undefined) lost++;
    else {
      // A stream that broke around the end says so on reconnecting (its first event is the status now).
      const gap = extra.gap;
      const arrives =
        gap && doneAt >= gap.at && doneAt < gap.at + gap.ms ? gap.at + gap.ms + delay : doneAt + delay;
      clock.setTimer(() => notice(arrives + (mode.confirmRtt ? RTT_MS : 0)), arrives - clock.now());
    }
    const poll = async (): Promise<void> => {
      const sentAt = clock.now();
      requests++;
      await clock.sleep(RTT_MS);
      if (noticed) return;
      if (sentAt >= doneAt) return notice(clock.now());
      scheduler.in(key, mode.next(clock.now() - job.arriveAt), poll);
    };
    scheduler.at(key, job.arriveAt, () => {
      scheduler.in(key, mode.next(0), poll);
      return Promise.resolve();
    });
  });
  await clock.run();
  await scheduler.stop();
  latencies.sort((a, b) => a - b);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const p95 = latencies[Math.ceil(0.95 * latencies.length) - 1] ?? NaN;
  return {
    requestsPerJob: round(requests / jobs.length, 2),
    latencyMeanS: round(mean(latencies) / 1000, 3),
    latencyP95S: round(p95 / 1000, 3),
    lost,
    lostRecovered: lostLatencies.length,
    lostLatencyMeanS: round(mean(lostLatencies) / 1000, 3),
  };
}

const plan = (expectedMs: number) => ({ expectedMs, cv: POLL_DEFAULTS.cv });
/** Webhook delay after completion: 0.1 s plus an exponential tail of mean 0.25 s, capped at 2 s. */
const skewedDelay = (random: () => number) => Math.min(2000, 100 - 250 * Math.log(1 - random()));
/** The pessimistic reading of "0.1–2 s": every delay in it equally likely (mean 1.05 s). */
const uniformDelay = (random: () => number) => 100 + 1900 * random();
const webhooks = (expectedMs: number, delay: (random: () => number) => number): PushMode => ({
  next: (elapsed) => nextDelayFor(WEBHOOK_SAFETY_NET, elapsed, plan(expectedMs)),
  delayMs: (random) => (random() < LOST ? undefined : delay(random)),
  confirmRtt: true,
  requests: () => ({ count: 0 }),
});
const stream = (expectedMs: number): PushMode => ({
  next: (elapsed) => nextDelayFor(STREAM_SAFETY_NET, elapsed, plan(expectedMs)),
  delayMs: () => RTT_MS / 2,
  confirmRtt: false,
  requests: (random, job) =>
    random() < STREAM_BREAKS
      ? { count: 2, gap: { at: job.arriveAt + random() * job.runMs * 1.5, ms: RECONNECT_MS } }
      : { count: 1 },
});

const fixed = (ms: number): Strategy => ({ next: (elapsed) => (elapsed === 0 ? 0 : ms) });
const ours = (expectedMs: number): Strategy => ({
  next: (elapsed) => nextPollDelayMs(elapsed, { expectedMs, cv: POLL_DEFAULTS.cv }),
});

const { values } = parseArgs({
  options: { seed: { type: 'string', default: '20250615' }, jobs: { type: 'string', default: '10000' } },
});
const seed = Number(values.seed);
const n = Number(values.jobs);
const out = (line: string): boolean => process.stdout.write(`${line}\n`);
const fmt = (name: string, f: Figures): string =>
  `  ${name.padEnd(14)} ${f.requestsPerJob.toFixed(2).padStart(8)} ${f.latencyMeanS.toFixed(3).padStart(12)} ${f.latencyP95S.toFixed(3).padStart(10)}`;

out(`bench:poll  seed ${seed}, ${n} jobs per workload, Poisson arrivals every 3 s on average`);
out(`status requests only; latency = first poll at/after completion − completion + ${RTT_MS} ms RTT`);
out(
  `push: webhooks ${LOST * 100} % lost, the rest 0.1 s + exp(0.25 s) capped at 2 s after completion (or uniform 0.1–2 s), then one ${RTT_MS} ms result fetch;`,
);
out(
  `      stream: 1 GET per job, events ${RTT_MS / 2} ms after the change, ${STREAM_BREAKS * 100} % of streams break once and reconnect in ${RECONNECT_MS} ms`,
);
interface Learning {
  startS: number;
  after10S: number;
  after50S: number;
  /** Median estimate from the 100th completion on: the final value alone is skewed, as a run's last completions are its longest jobs. */
  steadyMedianS: number;
  steadyCv: number;
}
const workloads: {
  meanS: number;
  cv: number;
  strategies: Record<string, Figures>;
  push: Record<string, PushFigures>;
  learning?: Learning;
}[] = [];
for (const meanS of [59, 120]) {
  const cv = 0.25;
  let learning: Learning | undefined;
  const jobs = makeJobs(mulberry32(seed + meanS), n, meanS * 1000, cv);
  const strategies: Record<string, Figures> = {
    ours: await simulate(jobs, ours(meanS * 1000)),
    'fixed0.5': await simulate(jobs, fixed(500)),
    fixed1: await simulate(jobs, fixed(1000)),
    fixed5: await simulate(jobs, fixed(5000)),
  };
  if (meanS !== 59) {
    // Starts from the catalogue's 59 s and learns the true mean from completions, as the engine does.
    const times = createRunTimes({ flash: CATALOGUE_MS });
    const track: { meanS: number; cv: number }[] = [];
    strategies['ours-learned'] = await simulate(jobs, {
      next: (elapsed) =>
        nextPollDelayMs(elapsed, { expectedMs: times.expected('flash'), cv: times.cv('flash') }),
      done: (elapsed) => {
        times.observe('flash', elapsed);
        track.push({ meanS: times.expected('flash') / 1000, cv: times.cv('flash') });
      },
    });
    const steady = track.slice(100);
    const median = (xs: number[]): number => xs.sort((a, b) => a - b)[xs.length >> 1] ?? NaN;
    learning = {
      startS: CATALOGUE_MS / 1000,
      after10S: round(track[9]?.meanS ?? NaN, 1),
      after50S: round(track[49]?.meanS ?? NaN, 1),
      steadyMedianS: round(median(steady.map((t) => t.meanS)), 1),
      steadyCv: round(median(steady.map((t) => t.cv)), 3),
    };
  }
  const push: Record<string, PushFigures> = {
    webhooks: await simulatePush(jobs, webhooks(meanS * 1000, skewedDelay), seed + meanS + 1),
    'webhooks-uniform': await simulatePush(jobs, webhooks(meanS * 1000, uniformDelay), seed + meanS + 1),
    stream: await simulatePush(jobs, stream(meanS * 1000), seed + meanS + 2),
  };
  workloads.push({ meanS, cv, strategies, push, ...(learning ? { learning } : {}) });
  out('');
  out(`workload: log-normal run times, mean ${meanS} s, cv ${cv}`);
  out(
    `  ${'strategy'.padEnd(14)} ${'req/job'.padStart(8)} ${'latency mean'.padStart(12)} ${'p95'.padStart(10)}`,
  );
  for (const [name, f] of Object.entries(strategies)) out(fmt(name, f));
  for (const [name, f] of Object.entries(push)) out(fmt(name, f));
  for (const [name, f] of Object.entries(push))
    if (f.lost > 0)
      out(
        `  ${name}: ${f.lost} webhooks lost, ${f.lostRecovered} recovered by the safety net, ${f.lostLatencyMeanS} s late on average`,
      );
  if (learning)
    out(
      `  ours-learned: estimate starts at the catalogue's ${learning.startS} s; after 10 completions ${learning.after10S} s, ` +
        `after 50 ${learning.after50S} s; median from the 100th on ${learning.steadyMedianS} s, cv ${learning.steadyCv}`,
    );
}
out('');
const flash = workloads[0]?.strategies.ours;
const met =
  flash !== undefined &&
  flash.requestsPerJob <= TARGET.requestsPerJob &&
  flash.latencyMeanS <= TARGET.latencyMeanS &&
  flash.latencyP95S <= TARGET.latencyP95S;
out(
  `target for 59 s (≤ ${TARGET.requestsPerJob} req, mean ≤ ${TARGET.latencyMeanS} s, p95 ≤ ${TARGET.latencyP95S} s): ${met ? 'met' : 'MISSED'}`,
);
const hooked = workloads[0]?.push.webhooks;
const streamed = workloads[0]?.push.stream;
// Requests beyond the result: for a lost webhook the poll that finds the video is the result.
const beyondResult = (f: PushFigures) => f.requestsPerJob - f.lostRecovered / n;
const webhookMet =
  hooked !== undefined &&
  beyondResult(hooked) <= PUSH_TARGET.webhook.requestsPerJob &&
  hooked.latencyMeanS <= PUSH_TARGET.webhook.latencyMeanS &&
  hooked.latencyP95S <= PUSH_TARGET.webhook.latencyP95S &&
  hooked.lostRecovered === hooked.lost;
const loopback = await measureStreamLoopback(50, 1500);
out(
  `stream end to end on loopback (the real engine and fal client, fake fal, ${loopback.jobs} jobs at once): ` +
    `COMPLETED noticed in p50 ${loopback.noticedP50Ms} ms, p99 ${loopback.noticedP99Ms} ms, max ${loopback.noticedMaxMs} ms; ` +
    `${loopback.streamsPerJob} streams and ${loopback.statusPollsPerJob} status polls per job`,
);
const streamMet =
  streamed !== undefined &&
  streamed.requestsPerJob <= PUSH_TARGET.stream.requestsPerJob &&
  loopback.noticedP99Ms <= PUSH_TARGET.stream.noticedMs;
out(
  `webhooks for 59 s (≤ ${PUSH_TARGET.webhook.requestsPerJob} req beyond the result, mean ≤ ${PUSH_TARGET.webhook.latencyMeanS} s, p95 ≤ ${PUSH_TARGET.webhook.latencyP95S} s, every lost one recovered): ${webhookMet ? 'met' : 'MISSED'}`,
);
out(
  `stream for 59 s (≤ ${PUSH_TARGET.stream.requestsPerJob} req; on loopback p99 ≤ ${PUSH_TARGET.stream.noticedMs} ms): ${streamMet ? 'met' : 'MISSED'}`,
);
out(
  JSON.stringify({
    bench: 'poll',
    seed,
    jobs: n,
    rttMs: RTT_MS,
    lostWebhooks: LOST,
    targetMet: met && webhookMet && streamMet,
    targets: { polling: met, webhooks: webhookMet, stream: streamMet },
    workloads,
    streamLoopback: loopback,
  }),
);
if (!met || !webhookMet || !streamMet) process.exitCode = 1;
