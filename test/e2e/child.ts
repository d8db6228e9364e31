// A world whose bot is a real child process (`node --import tsx src/main.ts` in a project copy),
// so a test can SIGKILL it at any moment and start it again on the same SQLite store. The fakes
// run in the test process; their `onRequest` hooks let a test kill the bot between a side effect
// (a task created, a message stored) and the bot hearing of it.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  startFakeDiscord,
  type FakeDiscord,
  type FakeUser,
  type StoredMessage,
} from '../fakes/discord/index.js';
import { waitFor } from '../fakes/discord/wait.js';
import { startFakeWaveSpeed, type FakeWaveSpeed } from '../fakes/wavespeed.js';
import { fakeBotEnv, PNG, WS_KEY } from './harness.js';
import { cleanEnv, projectCopy } from './project.js';

/** One pino line from the bot, with the run (0 = first start) it came from. */
export interface LogLine {
  run: number;
  level: number;
  msg: string;
  jobId?: string;
  [field: string]: unknown;
}

/** The balance /credits shows, what is held, and how many of its ledger lines charged or refunded. */
export interface Statement {
  balance: number;
  /** Credits still held for jobs in progress. */
  held: number;
  charged: number;
  refunded: number;
  text: string;
}

interface Run {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<number | null>;
  alive: boolean;
}

export interface ChildWorld {
  discord: FakeDiscord;
  wavespeed: FakeWaveSpeed;
  member: FakeUser;
  storeUrl: string;
  /** How many times the bot was started. */
  readonly runs: number;
  /** The current bot's pid, or undefined when none is running. */
  readonly pid: number | undefined;
  /** Every JSON log line of every run, in order. */
  logs(): LogLine[];
  /** Raw stdout and stderr of every run, for failure messages. */
  output(): string;
  /** Starts the bot and resolves once it logged its ready line (`logged in as …`). */
  start(): Promise<void>;
  /** SIGKILL, then waits until the process is gone. Safe to call from inside a fake's hook. */
  kill9(): Promise<void>;
  /** Starts the bot again on the same store; stops the running one first (SIGTERM) if any. */
  restart(): Promise<void>;
  /** SIGTERM and wait for the exit; resolves the exit code. */
  stop(): Promise<number | null>;
  /** Kills any bot still running, closes the fakes, removes the store. */
  close(): Promise<void>;
  animate(opts?: {
    prompt?: string;
    user?: FakeUser;
    /** More /animate options, e.g. `enhance`. */
    options?: { name: string; type: number; value: string | number | boolean }[];
  }): ReturnType<FakeDiscord['sendCommand']>;
  /** What /credits shows the member, through the fake Discord and the running bot. */
  credits(user?: FakeUser): Promise<Statement>;
  /** Messages in the first thread the bot started (the job's status thread). */
  threadMessages(): StoredMessage[];
  /** Like the fakes' waitFor, with the bot's recent output in the timeout message. */
  waitFor<T>(fn: () => T | undefined | false, timeoutMs?: number): Promise<T>;
}

/** The JSON lines of a run's output (anything else, like npm's banner, is skipped). */
export function parseLines(text: string, run: number): LogLine[] {
  const out: LogLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      out.push({
        ...parsed,
        run,
        level: typeof parsed.level === 'number' ? parsed.level : 0,
        msg: typeof parsed.msg === 'string' ? parsed.msg : '',
      });
    } catch {
      // A line cut short by SIGKILL.
    }
  }
  return out;
}

export async function startChildWorld(env: Record<string, string> = {}): Promise<ChildWorld> {
  const discord = await startFakeDiscord();
  const wavespeed = await startFakeWaveSpeed({ apiKey: WS_KEY, runMs: 150, queuedMs: 20 });
  const dir = projectCopy('crash');
  const storeUrl = `sqlite://${join(dir, 'store.sqlite')}`;
  const member = discord.addUser({ username: 'member' });
  const childEnv = cleanEnv({
    ...fakeBotEnv(discord, wavespeed),
    STORE_URL: storeUrl,
    LOG_LEVEL: 'debug',
    // The fake finishes a task in about 200 ms; tell the bot, or it polls on a 59 s schedule.
    EXPECTED_RUN_MS: 'wavespeed/ray-2-flash=250,wavespeed/ray-2=250',
    ...env,
  });
  const runs: Run[] = [];
  const current = (): Run | undefined => {
    const last = runs.at(-1);
    return last?.alive === true ? last : undefined;
  };

  const describe = () => {
    const tail = runs
      .map(
        (r, i) =>
          `--- run ${i} stdout (tail)\n${r.stdout.slice(-3000)}\n--- stderr\n${r.stderr.slice(-1500)}`,
      )
      .join('\n');
    const requests = discord.requests.slice(-8).map((r) => `  ${r.method} ${r.path} → ${r.status ?? '…'}`);
    return `${tail}\n--- recent Discord requests\n${requests.join('\n')}`;
  };

  const world: ChildWorld = {
    discord,
    wavespeed,
    member,
    storeUrl,
    get runs() {
      return runs.length;
    },
    get pid() {
      return current()?.child.pid;
    },
    logs: () => runs.flatMap((r, i) => parseLines(r.stdout, i)),
    output: () => runs.map((r, i) => `--- run ${i}\n${r.stdout}\n${r.stderr}`).join('\n'),

    async start() {
      if (current()) throw new Error('the bot is already running');
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        cwd: dir,
        env: childEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const run: Run = {
        child,
        stdout: '',
        stderr: '',
        alive: true,
        exited: new Promise((res) =>
          child.on('exit', (code) => {
            run.alive = false;
            res(code);
          }),
        ),
      };
      runs.push(run);
      child.stdout?.on('data', (d: Buffer) => (run.stdout += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (run.stderr += d.toString()));
      await world.waitFor(() => run.stdout.includes('"msg":"logged in as ') || !run.alive, 20_000);
      if (!run.alive) throw new Error(`the bot exited while starting\n${describe()}`);
    },

    async kill9() {
      const run = current();
      if (!run) return;
      run.child.kill('SIGKILL');
      await run.exited;
    },

    async restart() {
      if (current()) await world.stop();
      await world.start();
    },

    async stop() {
      const run = runs.at(-1);
      if (!run) return null;
      if (run.alive) run.child.kill('SIGTERM');
      return run.exited;
    },

    async close() {
      await world.kill9();
      await Promise.all([discord.close(), wavespeed.close()]);
      rmSync(dir, { recursive: true, force: true });
    },

    animate(opts = {}) {
      const attachment = discord.addAttachment({ filename: 'cat.png', bytes: PNG, contentType: 'image/png' });
      return discord.sendCommand({
        name: 'animate',
        user: opts.user ?? member,
        attachments: [attachment],
        options: [
          { name: 'image', type: 11, value: attachment.id },
          { name: 'prompt', type: 3, value: opts.prompt ?? 'the cat slowly blinks' },
          ...(opts.options ?? []),
        ],
      });
    },

    async credits(user = member) {
      const interaction = await discord.sendCommand({ name: 'credits', user });
      const { content } = await interaction.waitForReply(10_000);
      const count = (line: RegExp) => content.split('\n').filter((l) => line.test(l)).length;
      return {
        balance: Number(/\*\*(-?\d+)\*\*/.exec(content)?.[1]),
        held: Number(/\*\*(\d+)\*\* held/.exec(content)?.[1] ?? 0),
        charged: count(/ charged \d+ /),
        refunded: count(/ refunded /),
        text: content,
      };
    },

    threadMessages() {
      const thread = discord.threads[0];
      return thread ? discord.messagesIn(thread.id) : [];
    },

    waitFor: (fn, timeoutMs = 10_000) => waitFor(fn, timeoutMs, describe),
  };
  return world;
}
