// A fake WaveSpeed in its own process for the benches, so the bot's memory is measured alone.
// Run times are log-normal around RUN_MS (cv 0.25), one per task; prints one JSON line with its
// base URL (and the sink's) first. Knobs, all from the environment, all off by default:
//   VIDEO_BYTES=n        every output video is n random bytes (one shared buffer)
//   FINISH_TOGETHER=1    every task runs until all JOBS exist, then all complete at one moment
//   REPORT_COMPLETIONS=1 prints {"completed":taskId,"at":ms} for the first poll answered completed
//   POLL_502=p POLL_429=p  that share of polls answers 502, or 429 with Retry-After: 1
//   FAIL_JOBS=p          that share of tasks ends failed
//   SINK=1               also serves a sink on another port: POST /upload drains and counts the
//                        body (a stand-in for Discord's attachment upload), GET /input.png
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startFakeWaveSpeed } from '../../test/fakes/wavespeed.js';

const env = process.env;
const jobs = Number(env.JOBS ?? 1000);
const runMs = Number(env.RUN_MS ?? 3000);
const rate = (name: string) => Number(env[name] ?? 0);
const fake = await startFakeWaveSpeed({
  apiKey: 'bench-key',
  runMs,
  queuedMs: 100,
  ...(env.VIDEO_BYTES ? { videoBytes: randomBytes(Number(env.VIDEO_BYTES)) } : {}),
});

// Seeded so every run sees the same workload.
let seed = Number(env.SEED ?? 42);
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) + 1) / (2 ** 31 + 1);
const sigma = Math.sqrt(Math.log(1 + 0.25 ** 2));
for (let i = 0; i < jobs; i++) {
  const normal = Math.sqrt(-2 * Math.log(random())) * Math.cos(2 * Math.PI * random());
  const taskRunMs = Math.round(runMs * Math.exp(sigma * normal - (sigma * sigma) / 2));
  // (Drawn only when asked for, so bench:load keeps the workload it always had.)
  if (rate('FAIL_JOBS') > 0 && random() < rate('FAIL_JOBS'))
    fake.nextOutcome({ status: 'failed', error: 'bench: task failed' });
  else fake.nextOutcome({ runMs: env.FINISH_TOGETHER ? runMs : taskRunMs });
}

// Poll faults are taken in order, one per poll whatever the task: a poll drawing "none" gets a
// zero delay, which answers normally. Enough for every poll the soak makes, with room to spare.
if (rate('POLL_502') > 0 || rate('POLL_429') > 0) {
  for (let i = 0; i < jobs * 100; i++) {
    const r = random();
    if (r < rate('POLL_502')) fake.failPolls({ status: 502 });
    else if (r < rate('POLL_502') + rate('POLL_429')) fake.failPolls({ status: 429, retryAfter: 1 });
    else fake.failPolls({ delayMs: 0 });
  }
}

if (env.FINISH_TOGETHER) {
  fake.hold();
  const waiting = setInterval(() => {
    if (fake.tasks.size < jobs) return;
    clearInterval(waiting);
    // Every task has run at least RUN_MS by then, so the bot's schedule expects it.
    const last = Math.max(...[...fake.tasks.values()].map((t) => t.createdAt));
    setTimeout(
      () => {
        fake.release();
        process.stdout.write(`${JSON.stringify({ released: Date.now() })}\n`);
      },
      Math.max(0, last + runMs - Date.now()),
    );
  }, 10);
}

if (env.REPORT_COMPLETIONS) {
  const seen = new Set<string>();
  let next = 0;
  setInterval(() => {
    for (; next < fake.polls.length; next++) {
      const poll = fake.polls[next];
      if (poll?.status !== 'completed' || seen.has(poll.id)) continue;
      seen.add(poll.id);
      process.stdout.write(`${JSON.stringify({ completed: poll.id, at: poll.at })}\n`);
    }
  }, 10).unref();
}

let sinkUrl: string | undefined;
if (env.SINK) {
  const png = Buffer.from(
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
    'base64',
  );
  const sink = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/input.png') {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length }).end(png);
      return;
    }
    let bytes = 0;
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ bytes })),
    );
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
}

process.stdout.write(`${JSON.stringify({ baseUrl: fake.baseUrl, sinkUrl })}\n`);
process.on('SIGTERM', () => void fake.close().then(() => process.exit(0)));
