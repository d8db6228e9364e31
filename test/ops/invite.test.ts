// `npm run invite` as an operator runs it: a child process with DISCORD_CLIENT_ID and nothing else
// (no token), the URL with the exact permission bits, and each permission listed with why; plus the
// one table both the invite and the /animate check read.
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PermissionFlagsBits, PermissionsBitField } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BOT_PERMISSIONS,
  BOT_PERMISSION_BITS,
  missingToPost,
  type BotPermissionName,
} from '../../src/discord/permissions.js';
import { cleanEnv, projectCopy, ROOT } from '../e2e/project.js';

const CLIENT_ID = '123456789012345678';
/** View Channel, Send Messages, Send Messages in Threads, Create Public Threads, Embed Links, Attach Files, Read Message History, Add Reactions. */
const EXPECTED_BITS = [10n, 11n, 38n, 35n, 14n, 15n, 16n, 6n].reduce((b, n) => b | (1n << n), 0n);

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A project folder with the scripts too, and no .env of the developer's. */
function project(): string {
  const dir = projectCopy('invite');
  symlinkSync(join(ROOT, 'scripts'), join(dir, 'scripts'));
  dirs.push(dir);
  return dir;
}

async function invite(cwd: string, env: Record<string, string>) {
  try {
    const { stdout, stderr } = await promisify(execFile)('npm', ['run', 'invite'], {
      cwd,
      env: cleanEnv(env),
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('npm run invite', () => {
  it('prints the invite URL with exactly the permissions the bot uses, each with why', async () => {
    const run = await invite(project(), { DISCORD_CLIENT_ID: CLIENT_ID });
    expect(run.code).toBe(0);
    const url = new URL(/https:\/\/discord\.com\/oauth2\/authorize\S+/.exec(run.stdout)?.[0] ?? '');
    expect(url.searchParams.get('client_id')).toBe(CLIENT_ID);
    expect(url.searchParams.get('scope')).toBe('bot applications.commands');
    expect(url.search).toContain('scope=bot+applications.commands');
    expect(url.searchParams.get('permissions')).toBe(EXPECTED_BITS.toString());
    expect(url.searchParams.get('permissions')).toBe('309237763136');

    // Every permission in the URL is listed with its reason, and nothing else is listed.
    const listed = run.stdout
      .split('\n')
      .filter((line) => line.startsWith('  '))
      .map((line) => line.trim());
    const inUrl = new PermissionsBitField(BigInt(url.searchParams.get('permissions')!)).toArray();
    expect(listed).toHaveLength(inUrl.length);
    for (const name of inUrl) {
      const entry = BOT_PERMISSIONS[name as BotPermissionName];
      expect(entry, name).toBeDefined();
      expect(listed).toContain(`${entry.label.padEnd(24)}  ${entry.why}`);
    }
  }, 30_000);

  it('reads DISCORD_CLIENT_ID from .env, and needs nothing else', async () => {
    const dir = project();
    writeFileSync(join(dir, '.env'), `DISCORD_CLIENT_ID=${CLIENT_ID}\nDISCORD_TOKEN=\n`);
    const run = await invite(dir, {});
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`client_id=${CLIENT_ID}&`);
  }, 30_000);

  it('exits non-zero with one line naming DISCORD_CLIENT_ID when it is missing or malformed', async () => {
    const dir = project();
    const missing = await invite(dir, {});
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('invite: DISCORD_CLIENT_ID is required');
    const bad = await invite(dir, { DISCORD_CLIENT_ID: 'my-bot' });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('invite: DISCORD_CLIENT_ID must be a Discord id');
  }, 30_000);
});

describe('the permission table', () => {
  it('is what the invite asks for', () => {
    expect(BOT_PERMISSION_BITS).toBe(EXPECTED_BITS);
    for (const [name, entry] of Object.entries(BOT_PERMISSIONS)) {
      expect(PermissionFlagsBits[name as BotPermissionName], name).toBeDefined();
      expect(entry.why.length, name).toBeGreaterThan(10);
    }
  });

  it('names every permission /animate refuses without, in a channel and in a thread', () => {
    const refusing = new Set<string>();
    for (const inThread of [false, true]) {
      for (const name of Object.keys(PermissionFlagsBits) as (keyof typeof PermissionFlagsBits)[]) {
        const bit = PermissionFlagsBits[name];
        const missing = missingToPost((b) => b !== bit, inThread);
        if (missing !== undefined) {
          expect(missing).toBe(BOT_PERMISSIONS[name as BotPermissionName]?.label);
          refusing.add(name);
        }
      }
      // With every permission in the table, nothing is missing.
      expect(missingToPost((b) => (BOT_PERMISSION_BITS & b) === b, inThread)).toBeUndefined();
    }
    const refusedInTable = Object.entries(BOT_PERMISSIONS)
      .filter(([, p]) => p.without === 'refused')
      .map(([name]) => name);
    expect([...refusing].sort()).toStrictEqual(refusedInTable.sort());
  });

  it('the delivery checks every permission it has a fallback for, by its name in the table', () => {
    const delivery = readFileSync(join(ROOT, 'src/discord/delivery.ts'), 'utf8');
    const checked = new Set([...delivery.matchAll(/may\(channel, '(\w+)'\)/g)].map((m) => m[1]));
    for (const [name, p] of Object.entries(BOT_PERMISSIONS))
      if (p.without === 'falls back') expect(checked, name).toContain(name);
    // The delivery reads no permission bit from anywhere else.
    expect(delivery).not.toContain('PermissionFlagsBits');
  });
});
