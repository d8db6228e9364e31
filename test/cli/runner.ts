// Runs `npm run animate` (or the script it names, `node --import tsx src/cli/animate.ts`) as a
// child process in a project copy, with a clean environment: nothing of the developer's own
// `.env` or settings leaks in, and no Discord setting is given at all.
import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from '../fakes/discord/wait.js';
import { cleanEnv } from '../e2e/project.js';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Run {
  child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  done: Promise<RunResult>;
  /** Resolves once stderr matches, failing with the output so far after `timeoutMs`. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

export interface RunOptions {
  cwd: string;
  env: Record<string, string>;
  /** Through `npm run -s animate --` (silent: npm adds nothing to stdout) instead of node directly. */
  viaNpm?: boolean;
}

export function startRunner(args: string[], opts: RunOptions): Run {
  const [command, argv] = opts.viaNpm
    ? ['npm', ['run', '-s', 'animate', '--', ...args]]
    : [process.execPath, ['--import', 'tsx', 'src/cli/animate.ts', ...args]];
  const child = spawn(command, argv, {
    cwd: opts.cwd,
    env: cleanEnv(opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<RunResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    done,
    async waitForStderr(pattern, timeoutMs = 15_000) {
      await waitFor(
        () => pattern.test(stderr),
        timeoutMs,
        () => `stderr so far:\n${stderr}`,
      );
    },
  };
}

export function runRunner(args: string[], opts: RunOptions): Promise<RunResult> {
  return startRunner(args, opts).done;
}
