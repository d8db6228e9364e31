// `npm run bench:soak`: 2,000 jobs through the real engine (in a child process, on SQLite) against
// a fake WaveSpeed that answers 5 % of polls 502 and 1 % 429 with Retry-After, fails 2 % of tasks,
// and a sink that fails 1 % of result posts (half before posting, half after). Run twice: once
// straight through, once SIGKILLed in the middle and restarted on the same store. Each run ends
// with what the store, the ledger and the sink's post log say: delivered, refunded, lost (open or
// missing at the end), posted twice, and ledger drift (balance ≠ starting credits − prices of
// delivered jobs, or a hold left behind). Anything off is listed job by job; nothing is hidden.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createJobStore, type JobRecord } from '../src/store/jobs.js';
import { openStore } from '../src/store/keyv.js';
import type { AcceptedLine, PostLine } from './bench/soak-engine.js';
import { readLines, startFakeProvider } from './bench/world.js';

const JOBS = Number(process.env.JOBS ?? 2000);
const MEMBERS = Number(process.env.MEMBERS ?? 500);
const RUN_MS = Number(process.env.RUN_MS ?? 2000);
const STARTING_CREDITS = 100;
/** The kill comes once this share of jobs has a result post. */
const KILL_AT = Number(process.env.KILL_AT ?? 0.4);
const RUN_TIMEOUT_MS = 5 * 60_000;

interface EngineRun {
  exited: Promise<number | null>;
  kill(): void;
}

function startEngine(dir: string, baseUrl: string, sinkUrl: string, run: number): EngineRun {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'bench/soak-engine.ts')],
    {
      env: {
        ...process.env,
        SOAK_DIR: dir,
        BASE_URL: baseUrl,
        SINK_URL: sinkUrl,
        JOBS: String(JOBS),
        MEMBERS: String(MEMBERS),
        RUN_MS: String(RUN_MS),
        POST_FAIL: '0.01',
        STARTING_CREDITS: String(STARTING_CREDITS),
        RUN: String(run),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  createInterface({ input: child.stdout }).on('line', () => undefined);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { exited, kill: () => void child.kill('SIGKILL') };
}

async function waitExit(run: EngineRun): Promise<number | null | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>(
    (resolve) => (timer = setTimeout(() => resolve('timeout'), RUN_TIMEOUT_MS)),
  );
  const result = await Promise.race([run.exited, timeout]);
  clearTimeout(timer);
  if (result === 'timeout') {
    run.kill();
    await run.exited;
  }
  return result;
}

async function scenario(name: 'straight' | 'killed') {
  const dir = mkdtempSync(join(tmpdir(), `animate-soak-${name}-`));
  const fake = await startFakeProvider({
    JOBS: String(JOBS),
    RUN_MS: String(RUN_MS),
    POLL_502: '0.05',
    POLL_429: '0.01',
    FAIL_JOBS: '0.02',
    SINK: '1',
  });
  const started = performance.now();
  const exits: (number | null | 'timeout')[] = [];
  let killedAfterS: number | undefined;
  let first = startEngine(dir, fake.baseUrl, fake.sinkUrl!, 0);
  if (name === 'killed') {
    const postsFile = join(dir, 'posts.jsonl');
    const target = Math.round(JOBS * KILL_AT);
    const reached = await new Promise<boolean>((resolve) => {
      const check = setInterval(() => {
        if (readLines<PostLine>(postsFile).filter((p) => p.kind === 'result').length >= target) {
          clearInterval(check);
          resolve(true);
        }
      }, 100);
      void first.exited.then(() => {
        clearInterval(check);
        resolve(false);
      });
    });
    if (reached) {
      first.kill();
      killedAfterS = +((performance.now() - started) / 1000).toFixed(1);
    }
    exits.push(await first.exited);
    first = startEngine(dir, fake.baseUrl, fake.sinkUrl!, 1);
  }
  exits.push(await waitExit(first));
  const wallS = +((performance.now() - started) / 1000).toFixed(1);
  fake.stop();

  const figures = await audit(dir);
  // Kept when something is off: the store, the post log and the engine's logs tell the story.
  if (figures.details.length === 0) rmSync(dir, { recursive: true, force: true });
  else
    process.stderr.write(`soak ${name}: ${figures.details.length} findings; store and logs kept in ${dir}\n`);
  return {
    scenario: name,
    ...figures.counts,
    faultsSeen: figures.faultsSeen,
    wallS,
    killedAfterS,
    exits,
    details: figures.details,
  };
}

/** The faults the engine logged (warn and up), to show the soak really exercised them. */
function faultsSeen(dir: string): Record<string, number> {
  const seen: Record<string, number> = {};
  for (const run of [0, 1]) {
    for (const line of readLines<{ msg?: string; err?: { status?: number; message?: string } }>(
      join(dir, `engine-${run}.log`),
    )) {
      const what = `${line.msg ?? '?'}${line.err?.status ? ` (${line.err.status})` : line.err?.message?.startsWith('bench sink') ? ` (${line.err.message.slice(12)})` : ''}`;
      seen[what] = (seen[what] ?? 0) + 1;
    }
  }
  return seen;
}

/** What the store, the ledger and the post log say once the engine is gone. */
async function audit(dir: string) {
  const accepted = readLines<AcceptedLine>(join(dir, 'accepted.jsonl'));
  const posts = readLines<PostLine>(join(dir, 'posts.jsonl'));
  const store = await openStore(`sqlite://${join(dir, 'store.sqlite')}`, (e) => {
    throw e;
  });
  const jobs = createJobStore(store.keyv);
  const economy = store.economy({ startingCredits: STARTING_CREDITS });
  const resultPosts = new Map<string, PostLine[]>();
  const failurePosts = new Map<string, PostLine[]>();
  for (const post of posts) {
    const into = post.kind === 'result' ? resultPosts : failurePosts;
    into.set(post.jobId, [...(into.get(post.jobId) ?? []), post]);
  }

  const details: string[] = [];
  const describe = (job: JobRecord | undefined, id: string) =>
    job
      ? `${id} state=${job.state} failure=${job.failure?.code ?? '-'} resultMessage=${job.discord.resultMessageId ?? '-'} ` +
        `results posted=${resultPosts.get(id)?.length ?? 0} (runs ${(resultPosts.get(id) ?? []).map((p) => p.run).join(',') || '-'}) ` +
        `failure notices=${failurePosts.get(id)?.length ?? 0}`
      : `${id} missing from the store`;
  let delivered = 0;
  let refunded = 0;
  let lost = 0;
  let postedTwice = 0;
  let refundedButPosted = 0;
  let noticesTwice = 0;
  let refundedNoNotice = 0;
  let deliveredNoPost = 0;
  const spentBy = new Map<string, number>();
  const byFailure = new Map<string, number>();
  for (const line of accepted) {
    if (!line.ok || !line.jobId) continue;
    const id = line.jobId;
    const job = await jobs.get(id);
    const results = resultPosts.get(id)?.length ?? 0;
    if (job?.state === 'delivered') {
      delivered++;
      spentBy.set(job.userId, (spentBy.get(job.userId) ?? 0) + job.price);
      if (results === 0) {
        deliveredNoPost++;
        details.push(`delivered without a post: ${describe(job, id)}`);
      }
    } else if (job?.state === 'refunded') {
      refunded++;
      const code = job.failure?.code ?? 'unknown';
      byFailure.set(code, (byFailure.get(code) ?? 0) + 1);
      if (results > 0) {
        refundedButPosted++;
        details.push(`refunded but its video was posted: ${describe(job, id)}`);
      }
    } else {
      lost++;
      details.push(`lost (not finished): ${describe(job, id)}`);
    }
    const notices = failurePosts.get(id)?.length ?? 0;
    if (job?.state === 'refunded' && notices === 0) {
      refundedNoNotice++;
      details.push(`refunded without a failure notice: ${describe(job, id)}`);
    }
    if (notices > 1) {
      noticesTwice++;
      details.push(`failure notice posted twice: ${describe(job, id)}`);
    }
    if (results > 1) {
      postedTwice++;
      details.push(`posted twice: ${describe(job, id)}`);
    }
  }

  // A SIGKILL can land between accepting a job and writing its line to accepted.jsonl: such a
  // job still ran and was charged. Find it by its posted result and count its price too.
  const listed = new Set(accepted.flatMap((l) => (l.jobId ? [l.jobId] : [])));
  for (const id of resultPosts.keys()) {
    if (listed.has(id)) continue;
    const job = await jobs.get(id);
    if (job?.state === 'delivered') spentBy.set(job.userId, (spentBy.get(job.userId) ?? 0) + job.price);
  }

  let drift = 0;
  let heldLeft = 0;
  const members = new Set(accepted.map((l) => l.userId));
  for (const userId of members) {
    // The bench's members act in one server (scripts/bench/world.ts).
    const account = { scope: 'guild', userId };
    const { free: balance } = await economy.wallet(account);
    const expected = STARTING_CREDITS - (spentBy.get(userId) ?? 0);
    if (balance !== expected) {
      drift += Math.abs(balance - expected);
      details.push(`ledger drift: ${userId} balance ${balance}, expected ${expected}`);
    }
    const open = (await economy.entries(account, 10_000)).filter(
      (e) => e.kind === 'hold' && e.jobId !== undefined,
    );
    for (const entry of open) {
      const id = entry.jobId as string;
      if ((await economy.holdState(account, id)) !== 'held') continue;
      heldLeft++;
      details.push(`hold left: ${userId} job ${id} ${entry.amount} (${describe(await jobs.get(id), id)})`);
    }
  }
  // And the books themselves: every account's entries sum to its balance.
  for (const off of await economy.audit()) {
    drift += Math.abs(off.free - off.sum) + Math.abs(off.held - off.holds);
    details.push(`books off: ${JSON.stringify(off)}`);
  }
  await store.close();
  return {
    faultsSeen: faultsSeen(dir),
    counts: {
      jobs: accepted.filter((l) => l.ok).length,
      delivered,
      refunded,
      refundedBy: Object.fromEntries(byFailure),
      lost,
      postedTwice,
      refundedButPosted,
      noticesTwice,
      refundedNoNotice,
      deliveredNoPost,
      ledgerDrift: drift,
      heldLeft,
      resultPosts: posts.filter((p) => p.kind === 'result').length,
    },
    details,
  };
}

const runs = [await scenario('straight'), await scenario('killed')];
const lines: string[] = [];
for (const r of runs) {
  lines.push(
    `${r.scenario.padEnd(8)} jobs ${r.jobs}: delivered ${r.delivered}, refunded ${r.refunded} ${JSON.stringify(r.refundedBy)}, ` +
      `lost ${r.lost}, posted twice ${r.postedTwice}, ledger drift ${r.ledgerDrift} (holds left ${r.heldLeft}), ` +
      `refunded but posted ${r.refundedButPosted}, delivered without post ${r.deliveredNoPost}, ` +
      `failure notice twice ${r.noticesTwice}, refunded without notice ${r.refundedNoNotice}; ` +
      `wall ${r.wallS} s${r.killedAfterS !== undefined ? `, SIGKILL after ${r.killedAfterS} s` : ''}, exits ${JSON.stringify(r.exits)}`,
  );
  lines.push(`  engine logged: ${JSON.stringify(r.faultsSeen)}`);
  for (const d of r.details.slice(0, 50)) lines.push(`  ${d}`);
  if (r.details.length > 50) lines.push(`  … and ${r.details.length - 50} more`);
}
const summary = runs.map(({ details: _details, ...rest }) => rest);
lines.push(JSON.stringify({ bench: 'soak', runs: summary }));
process.stdout.write(`${lines.join('\n')}\n`);
const clean = runs.every(
  (r) => r.lost === 0 && r.postedTwice === 0 && r.ledgerDrift === 0 && r.heldLeft === 0,
);
process.exit(clean ? 0 : 1);
