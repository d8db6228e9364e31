// `npm run bench:ack`: how fast the bot acknowledges interactions under a burst. The real bot
// (startBot: discord.js, engine, SQLite store) runs on this process's main thread; the test
// suite's fake Discord and fake WaveSpeed run in a worker thread of the same process
// (scripts/bench/ack-fakes.ts), as Discord would run elsewhere. 200 members send /animate at
// the same moment, then each presses Cancel on their status message, all at once: one round.
// The first round after start is the warm-up, printed but not counted: it runs every code path
// for the first time. Then the fake drops the idle connections, so the first of the ROUNDS (5)
// measured rounds opens a connection per callback again, as after a quiet minute; the others
// find them open. Latency is from the moment the fake dispatched the interaction to the moment
// it received the bot's first callback, both read in the fake. Goal: p99 ≤ 100 ms over all
// measured rounds' interactions together. Prints figures, then one JSON line.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { loadConfig } from '../src/config.js';
import { startBot } from '../src/main.js';
import type { BurstResult, FakesReady } from './bench/ack-fakes.js';
import { percentile } from './bench/world.js';

const N = Number(process.env.N ?? 200);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const GOAL_P99_MS = 100;
const KEY = 'bench-wavespeed-key';

// A worker does not inherit the tsx loader: its first lines register it, then load the fakes.
const fakesUrl = new URL('./bench/ack-fakes.ts', import.meta.url).href;
const fakes = new Worker(
  `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(fakesUrl)}); })`,
  { eval: true },
);
const next = <T>(): Promise<T> =>
  new Promise((resolve, reject) => {
    fakes.once('message', resolve);
    fakes.once('error', reject);
  });
// Listened for from the start: a worker that fails ends before the bot has stopped.
const exited = new Promise((resolve) => fakes.once('exit', resolve));
fakes.postMessage({ n: N, key: KEY, rounds: ROUNDS });
const { env } = await next<FakesReady>();

const dir = mkdtempSync(join(tmpdir(), 'animate-bench-ack-'));
const bot = await startBot(
  loadConfig({
    ...env,
    WAVESPEED_API_KEY: KEY,
    STORE_URL: `sqlite://${join(dir, 'store.sqlite')}`,
    LOG_LEVEL: 'warn',
    MAX_ACTIVE_JOBS_PER_MEMBER: '1',
  }),
  { logDestination: { write: () => undefined } },
);

const summary = (xs: number[]) => ({
  p50: Math.round(percentile(xs, 50) * 10) / 10,
  p99: Math.round(percentile(xs, 99) * 10) / 10,
  max: Math.max(...xs),
});

/** The middle value (the upper one of two). */
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? Number.NaN;

try {
  const done = next<BurstResult>();
  fakes.postMessage('ready');
  const { warmUp, rounds, connectionsPerRound } = await done;
  const perRound = rounds.map((r) => ({
    commandAckMs: summary(r.commandAckMs),
    buttonAckMs: summary(r.buttonAckMs),
  }));
  const commandP99 = median(perRound.map((r) => r.commandAckMs.p99));
  const buttonP99 = median(perRound.map((r) => r.buttonAckMs.p99));
  // Every round's interactions together: the p99 of all 5 × 200 of each kind.
  const pooled = {
    command: summary(rounds.flatMap((r) => r.commandAckMs)),
    button: summary(rounds.flatMap((r) => r.buttonAckMs)),
  };
  const first = { commandAckMs: summary(warmUp.commandAckMs), buttonAckMs: summary(warmUp.buttonAckMs) };
  const result = {
    bench: 'ack',
    interactions: N,
    warmUp: first,
    rounds: perRound,
    connectionsPerRound,
    medianP99Ms: { command: commandP99, button: buttonP99 },
    pooled,
    goalP99Ms: GOAL_P99_MS,
    met: pooled.command.p99 <= GOAL_P99_MS && pooled.button.p99 <= GOAL_P99_MS,
  };
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const figures = (r: typeof first) =>
    `${N} simultaneous /animate: ack p50 ${r.commandAckMs.p50} ms, p99 ${r.commandAckMs.p99} ms; ` +
    `${N} simultaneous Cancel presses: p50 ${r.buttonAckMs.p50} ms, p99 ${r.buttonAckMs.p99} ms`;
  out(`warm-up, the first round after start (not counted): ${figures(first)}`);
  perRound.forEach((r, i) =>
    out(`round ${i + 1} (${connectionsPerRound[i]} new connections): ${figures(r)}`),
  );
  out(`median round: /animate p99 ${commandP99} ms, Cancel p99 ${buttonP99} ms`);
  out(
    `all ${ROUNDS} measured rounds together: /animate p50 ${pooled.command.p50} ms, p99 ${pooled.command.p99} ms; ` +
      `Cancel p50 ${pooled.button.p50} ms, p99 ${pooled.button.p99} ms`,
  );
  out(`goal p99 ≤ ${GOAL_P99_MS} ms: ${result.met ? 'met' : 'NOT met'}`);
  out(JSON.stringify(result));
} finally {
  await bot.stop();
  fakes.postMessage('stopped');
  await exited;
  rmSync(dir, { recursive: true, force: true });
}
