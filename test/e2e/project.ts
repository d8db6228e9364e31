// Running the bot as an operator would, in a child process: a fresh project folder that shares
// this checkout's code and node_modules, and an environment with nothing of ours leaking in.
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');

export function projectCopy(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `animate-${prefix}-`));
  for (const entry of ['package.json', 'src', 'node_modules', 'tsconfig.json']) {
    symlinkSync(join(ROOT, entry), join(dir, entry));
  }
  return dir;
}

/** Only what a shell needs, plus `extra`: the developer's own .env or settings must not leak in. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
    if (process.env[key] !== undefined) env[key] = process.env[key];
  }
  return { ...env, ...extra };
}
