// The engine process of bench:soak: the real engine, SQLite store and WaveSpeed client, with a
// sink Delivery that remembers every post in an append-only JSONL file written synchronously, so
// a SIGKILL loses nothing it posted and a restart finds earlier posts the way Discord would.
// On its first start it accepts JOBS jobs from MEMBERS members; on a later start it only resumes.
// Exits 0 once no job is open. Prints {"accepted":n} and {"open":n} lines for the orchestrator.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { createHttp } from '../../src/net/http.js';
import { openStore } from '../../src/store/keyv.js';
import { benchEngine, benchRequest, benchSink, readLines } from './world.js';

const env = process.env;
const dir = env.SOAK_DIR!;
const JOBS = Number(env.JOBS);
const MEMBERS = Number(env.MEMBERS);
const RUN_MS = Number(env.RUN_MS);
const POST_FAIL = Number(env.POST_FAIL ?? 0);
const STARTING_CREDITS = Number(env.STARTING_CREDITS);
const run = Number(env.RUN ?? 0);

export interface PostLine {
  kind: 'result' | 'failure';
  jobId: string;
  messageId: string;
  run: number;
  at: number;
}
export interface AcceptedLine {
  jobId?: string;
  userId: string;
  ok: boolean;
}

const postsFile = join(dir, 'posts.jsonl');
const acceptedFile = join(dir, 'accepted.jsonl');
/** What "Discord" already shows: the first post of each kind per job. */
const firstPost = new Map<string, string>();
for (const post of readLines<PostLine>(postsFile)) {
  const key = `${post.kind}:${post.jobId}`;
  if (!firstPost.has(key)) firstPost.set(key, post.messageId);
}
let seq = 0;
function post(kind: PostLine['kind'], jobId: string): string {
  const messageId = `${kind[0]}-${jobId}-${run}-${seq++}`;
  const line: PostLine = { kind, jobId, messageId, run, at: Date.now() };
  appendFileSync(postsFile, `${JSON.stringify(line)}\n`);
  if (!firstPost.has(`${kind}:${jobId}`)) firstPost.set(`${kind}:${jobId}`, messageId);
  return messageId;
}

// Seeded per run, so a restart does not replay the first run's failures.
let seed = 7 + run * 1000;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) + 1) / (2 ** 31 + 1);

const sink = benchSink({
  postResult(job) {
    // A failed post is as often one Discord never took as one whose answer was lost on the way
    // back (a 5xx or timeout after the message was created): the second kind is what findPost
    // and the nonce are for.
    const r = random();
    if (r < POST_FAIL / 2) return Promise.reject(new Error('bench sink: post refused'));
    const messageId = post('result', job.id);
    if (r < POST_FAIL) return Promise.reject(new Error('bench sink: post made, answer lost'));
    return Promise.resolve({ messageId });
  },
  findPost: (job, kind) => Promise.resolve(firstPost.get(`${kind}:${job.id}`)),
  postFailure(job) {
    post('failure', job.id);
    return Promise.resolve();
  },
});

const store = await openStore(`sqlite://${join(dir, 'store.sqlite')}`, (e) => {
  throw e;
});
const http = createHttp();
const { engine, jobs } = benchEngine({
  store: store.keyv,
  http,
  baseUrl: env.BASE_URL!,
  delivery: sink,
  runMs: RUN_MS,
  log: pino({ level: 'warn' }, pino.destination({ dest: join(dir, `engine-${run}.log`), sync: true })),
  startingCredits: STARTING_CREDITS,
});

const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
await engine.resume();
// Only the first start accepts: a restart that found no list (killed while accepting) must not add more.
if (run === 0 && readLines<AcceptedLine>(acceptedFile).length === 0) {
  const source = `${env.SINK_URL!}/input.png`;
  await Promise.all(
    Array.from({ length: JOBS }, async (_, i) => {
      const userId = `m${i % MEMBERS}`;
      const result = await engine.accept(benchRequest(userId, i, source));
      const line: AcceptedLine = { userId, ok: result.ok, ...(result.ok ? { jobId: result.job.id } : {}) };
      appendFileSync(acceptedFile, `${JSON.stringify(line)}\n`);
    }),
  );
}
say({ accepted: readLines<AcceptedLine>(acceptedFile).length });

for (;;) {
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const open = (await jobs.listOpen()).length;
  say({ open });
  if (open === 0) break;
}
await engine.stop();
await http.close();
await store.close();
process.exit(0);
