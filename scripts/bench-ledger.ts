// `npm run bench:ledger`: how many holds + commits (hold, then spend) per second the economy
// does (docs/economy.md, "Benchmark"): on SQLite in one process, and on Redis in one process and
// in two (this script again, in worker mode, as the second process), each for one hot member and
// for 1,000 members. Every hold goes through the full path the engine uses: allowance and a
// server spend cap (large enough never to refuse) checked in the same step. After every run the
// books are audited (drift must be zero) and the totals checked. Starts its own redis-server on
// a free loopback port and stops it. Prints a table, then one JSON line of all figures; exits 1
// when drift is not zero or a goal is missed (SQLite ≥ 1,000/s; Redis with 2 processes ≥ 2,000/s).
// Each configuration runs --repeat times (default 3) and reports the median, since the figure
// moves with whatever else the machine is doing. Options: --ops N (holds+commits per run per
// process, default 6000), --concurrency N (in flight per process, default 64), --repeat N.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { Economy } from '../src/store/economy.js';
import { openStore, type OpenedStore } from '../src/store/keyv.js';

type Workload = 'hot' | 'spread';
const MEMBERS = 1000;
const PRICE = 3;
const STARTING = 1_000_000_000;
const CAP = { guildId: 'bench', amount: Number.MAX_SAFE_INTEGER, period: 'day' as const };
const ALLOWANCE = { amount: 10, period: 'day' as const };
const GOALS = { sqliteOneProcess: 1000, redisTwoProcesses: 2000 };

const { values } = parseArgs({
  options: {
    worker: { type: 'boolean', default: false },
    url: { type: 'string' },
    workload: { type: 'string' },
    id: { type: 'string', default: 'p1' },
    ops: { type: 'string', default: process.env.OPS ?? '6000' },
    concurrency: { type: 'string', default: '64' },
    repeat: { type: 'string', default: '3' },
  },
});
const OPS = Number(values.ops);
const CONCURRENCY = Number(values.concurrency);
const REPEAT = Math.max(1, Number(values.repeat));

const member = (workload: Workload, i: number) => ({
  scope: 'bench',
  userId: workload === 'hot' ? 'hot' : `m${i % MEMBERS}`,
});

const fail = (error: unknown) => {
  throw error;
};

/** Creates the accounts first, so a run measures holds and commits, not first-time account creation. */
async function warm(economy: Economy, workload: Workload): Promise<void> {
  const n = workload === 'hot' ? 1 : MEMBERS;
  for (let i = 0; i < n; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, n - i) }, (_, k) =>
        economy.wallet(member(workload, i + k), ALLOWANCE),
      ),
    );
  }
}

/** `ops` holds, each followed by its spend, `CONCURRENCY` at a time. Returns the elapsed ms. */
async function drive(economy: Economy, workload: Workload, ops: number, id: string): Promise<number> {
  let next = 0;
  let refused = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < ops; i = next++) {
        const account = member(workload, i);
        const jobId = `${id}-${i}`;
        const held = await economy.hold({
          account,
          jobId,
          amount: PRICE,
          note: 'bench',
          allowance: ALLOWANCE,
          cap: CAP,
        });
        if (!held.ok) refused++;
        else if (!(await economy.spend(account, jobId))) throw new Error(`spend of ${jobId} found no hold`);
      }
    }),
  );
  if (refused > 0) throw new Error(`${refused} holds refused`);
  return performance.now() - started;
}

// ---- worker mode: the second process of a Redis run --------------------------------------

if (values.worker) {
  const store = await openStore(values.url!, fail);
  const economy = store.economy({ startingCredits: STARTING });
  const workload = values.workload as Workload;
  await warm(economy, workload);
  process.stdout.write('ready\n');
  await new Promise((res) => createInterface({ input: process.stdin }).once('line', res));
  const ms = await drive(economy, workload, OPS, values.id);
  process.stdout.write(`${JSON.stringify({ ms })}\n`);
  await store.close();
  process.exit(0);
}

// ---- the bench ----------------------------------------------------------------------------

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? res(address.port) : rej(new Error('no port')),
      );
    });
  });
}

let redis: ChildProcess | undefined;
process.on('exit', () => redis?.kill('SIGTERM'));

async function startRedis(): Promise<string> {
  const port = await freePort();
  redis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  const url = `redis://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    try {
      const store = await openStore(url, fail);
      await store.close();
      return url;
    } catch (error) {
      if (attempt >= 50) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function flushRedis(url: string): Promise<void> {
  const store = await openStore(url, fail);
  await (
    store.keyv.store as { client: { sendCommand(args: string[]): Promise<unknown> } }
  ).client.sendCommand(['FLUSHDB']);
  await store.close();
}

interface Row {
  backend: 'sqlite' | 'redis';
  processes: number;
  workload: Workload;
  ops: number;
  seconds: number;
  perSecond: number;
  drift: number;
  totalsExact: boolean;
  /** Every repetition's figure; `perSecond` and `seconds` are the median's. */
  samples?: number[];
}

/** The books after a run: audit() drift, and every member's balance as the run says it must be. */
async function check(economy: Economy, opsPerMember: Map<string, number>): Promise<[number, boolean]> {
  const drift = (await economy.audit()).length;
  let exact = true;
  for (const [userId, ops] of opsPerMember) {
    const wallet = await economy.wallet({ scope: 'bench', userId }, ALLOWANCE);
    if (wallet.held !== 0 || wallet.free !== STARTING - ops * PRICE) exact = false;
  }
  const total = [...opsPerMember.values()].reduce((s, n) => s + n, 0);
  if ((await economy.capUsed(CAP.guildId, CAP.period, Date.now())) !== total * PRICE) exact = false;
  return [drift, exact];
}

function expected(workload: Workload, opsPerProcess: number, processes: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let p = 0; p < processes; p++) {
    for (let i = 0; i < opsPerProcess; i++) {
      const { userId } = member(workload, i);
      counts.set(userId, (counts.get(userId) ?? 0) + 1);
    }
  }
  return counts;
}

async function run(
  backend: 'sqlite' | 'redis',
  processes: number,
  workload: Workload,
  url: string | undefined,
): Promise<Row> {
  let store: OpenedStore;
  let dir: string | undefined;
  if (backend === 'sqlite') {
    dir = mkdtempSync(join(tmpdir(), 'animate-bench-ledger-'));
    store = await openStore(`sqlite://${join(dir, 'store.sqlite')}`, fail);
  } else {
    await flushRedis(url!);
    store = await openStore(url!, fail);
  }
  const economy = store.economy({ startingCredits: STARTING });
  await warm(economy, workload);
  const workers: Array<{ child: ChildProcess; lines: AsyncIterator<string> }> = [];
  for (let p = 1; p < processes; p++) {
    const child = spawn(
      process.execPath,
      [
        ...process.execArgv,
        import.meta.filename,
        '--worker',
        '--url',
        url!,
        '--workload',
        workload,
        '--id',
        `p${p + 1}`,
        '--ops',
        String(OPS),
        '--concurrency',
        String(CONCURRENCY),
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    if ((await lines.next()).value !== 'ready') throw new Error('worker did not start');
    workers.push({ child, lines });
  }
  globalThis.gc?.();
  const started = performance.now();
  for (const { child } of workers) child.stdin!.write('go\n');
  await drive(economy, workload, OPS, 'p1');
  for (const { lines } of workers) JSON.parse(String((await lines.next()).value)) as { ms: number };
  const seconds = (performance.now() - started) / 1000;
  const [drift, totalsExact] = await check(economy, expected(workload, OPS, processes));
  await store.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  const ops = OPS * processes;
  return {
    backend,
    processes,
    workload,
    ops,
    seconds: +seconds.toFixed(2),
    perSecond: Math.round(ops / seconds),
    drift,
    totalsExact,
  };
}

/** The configuration REPEAT times: the median run, with every run's figure, drift and totals summed up. */
async function repeated(...args: Parameters<typeof run>): Promise<Row> {
  const runs: Row[] = [];
  for (let i = 0; i < REPEAT; i++) runs.push(await run(...args));
  const sorted = [...runs].sort((a, b) => a.perSecond - b.perSecond);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return {
    ...median,
    drift: runs.reduce((s, r) => s + r.drift, 0),
    totalsExact: runs.every((r) => r.totalsExact),
    samples: runs.map((r) => r.perSecond),
  };
}

const url = await startRedis();
const rows: Row[] = [];
try {
  for (const workload of ['hot', 'spread'] as const) {
    rows.push(await repeated('sqlite', 1, workload, undefined));
    rows.push(await repeated('redis', 1, workload, url));
    rows.push(await repeated('redis', 2, workload, url));
  }
} finally {
  const child = redis;
  redis = undefined;
  if (child && child.exitCode === null) {
    await new Promise((res) => {
      child.once('exit', res);
      child.kill('SIGTERM');
    });
  }
}

const minOf = (backend: Row['backend'], processes: number) =>
  Math.min(...rows.filter((r) => r.backend === backend && r.processes === processes).map((r) => r.perSecond));
const figures = {
  opsPerProcess: OPS,
  concurrency: CONCURRENCY,
  repeat: REPEAT,
  members: MEMBERS,
  runs: rows,
  goals: GOALS,
  zeroDrift: rows.every((r) => r.drift === 0 && r.totalsExact),
  sqliteOneProcessMin: minOf('sqlite', 1),
  redisTwoProcessesMin: minOf('redis', 2),
};
const pad = (s: string | number, n: number) => String(s).padEnd(n);
process.stdout.write(
  [
    `holds + commits per second (hold with allowance and cap, then spend; ${CONCURRENCY} in flight per process;`,
    `median of ${REPEAT} runs; drift = accounts audit() reports, summed over the runs)`,
    `${pad('backend', 8)}${pad('procs', 7)}${pad('members', 9)}${pad('ops', 8)}${pad('seconds', 9)}${pad('per s', 8)}${pad('drift', 7)}${pad('totals', 8)}runs`,
    ...rows.map(
      (r) =>
        `${pad(r.backend, 8)}${pad(r.processes, 7)}${pad(r.workload === 'hot' ? '1 (hot)' : MEMBERS, 9)}${pad(r.ops, 8)}` +
        `${pad(r.seconds, 9)}${pad(r.perSecond, 8)}${pad(r.drift, 7)}${pad(r.totalsExact ? 'exact' : 'WRONG', 8)}${(r.samples ?? []).join(' ')}`,
    ),
    `goals: SQLite 1 process ≥ ${GOALS.sqliteOneProcess}/s (min ${figures.sqliteOneProcessMin}), ` +
      `Redis 2 processes ≥ ${GOALS.redisTwoProcesses}/s (min ${figures.redisTwoProcessesMin}), drift 0 (${figures.zeroDrift ? 'yes' : 'NO'})`,
    JSON.stringify(figures),
  ].join('\n') + '\n',
);
const met =
  figures.zeroDrift &&
  figures.sqliteOneProcessMin >= GOALS.sqliteOneProcess &&
  figures.redisTwoProcessesMin >= GOALS.redisTwoProcesses;
process.exit(met ? 0 : 1);
