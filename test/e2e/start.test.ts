// `npm start` as an operator runs it: a real child process, the .env file, the default store
// under ./data/, a clean exit on SIGTERM, and one readable line when a setting is missing.
import { spawn } from 'node:child_process';
import { existsSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeDiscord, type FakeDiscord } from '../fakes/discord/index.js';
import { cleanEnv, projectCopy, ROOT } from './project.js';

interface Run {
  stdout: string;
  stderr: string;
  /** npm's own exit code. */
  exit: Promise<number | null>;
  /** Resolves when every process holding the output (npm and the bot) has exited. */
  closed: Promise<void>;
  /** Signals npm only. */
  kill(signal: NodeJS.Signals): void;
  /** Signals the whole process group, as a terminal, systemd or Docker would. */
  killGroup(signal: NodeJS.Signals): void;
}

function npmStart(cwd: string, env: NodeJS.ProcessEnv, script = 'start'): Run {
  const child = spawn('npm', script === 'start' ? ['start'] : ['run', script], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const run: Run = {
    stdout: '',
    stderr: '',
    exit: new Promise((res) => child.on('exit', (code) => res(code))),
    closed: new Promise((res) => child.on('close', () => res())),
    kill: (signal) => child.kill(signal),
    killGroup: (signal) => child.pid !== undefined && process.kill(-child.pid, signal),
  };
  child.stdout.on('data', (d: Buffer) => (run.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (run.stderr += d.toString()));
  return run;
}

const dirs: string[] = [];

/** `npm start` in a fresh project copy, against the fake Discord, with these settings. */
function startIn(env: Record<string, string>): Run {
  const dir = projectCopy('start');
  dirs.push(dir);
  return npmStart(dir, cleanEnv(env));
}

/** The bot's JSON log lines (stdout), parsed. */
function logLines(run: Run): { level: number; msg: string }[] {
  return run.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string });
}

/** `npm start` in a fresh project copy against a fake Discord, once the bot says it is ready. */
async function runningBot(): Promise<Run> {
  discord = await startFakeDiscord();
  const fake = discord;
  const dir = projectCopy('start');
  dirs.push(dir);
  const run = npmStart(
    dir,
    cleanEnv({
      DISCORD_TOKEN: fake.botToken,
      DISCORD_CLIENT_ID: fake.applicationId,
      DISCORD_API_URL: fake.apiBase,
      WAVESPEED_API_KEY: 'ws-key',
    }),
  );
  await fake.waitFor(() => run.stdout.includes('"msg":"logged in as '), 20_000);
  return run;
}
let discord: FakeDiscord | undefined;
afterEach(async () => {
  await discord?.close();
  discord = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('exits non-zero with one line naming DISCORD_TOKEN when it is missing', async () => {
    const dir = projectCopy('start');
    dirs.push(dir);
    writeFileSync(join(dir, '.env'), 'DISCORD_CLIENT_ID=123456789012345678\nWAVESPEED_API_KEY=k\n');
    const run = npmStart(dir, cleanEnv({}));
    expect(await run.exit).not.toBe(0);
    const ours = run.stderr.split('\n').filter((l) => l.startsWith('animate:'));
    expect(ours).toEqual(['animate: DISCORD_TOKEN is required']);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);

  it('starts from a .env with only the token, client id and WaveSpeed key, on SQLite under ./data/', async () => {
    discord = await startFakeDiscord();
    const dir = projectCopy('start');
    dirs.push(dir);
    writeFileSync(
      join(dir, '.env'),
      `DISCORD_TOKEN=${discord.botToken}\nDISCORD_CLIENT_ID=${discord.applicationId}\nWAVESPEED_API_KEY=ws-key\n`,
    );
    // The only thing from outside the .env: where "Discord" is, because tests never leave loopback.
    const run = npmStart(dir, cleanEnv({ DISCORD_API_URL: discord.apiBase }));
    const fake = discord;
    await fake.waitFor(() => fake.gatewayReady, 20_000);
    await fake.waitFor(() => run.stdout.includes('"msg":"logged in as '), 10_000);
    expect(existsSync(join(dir, 'data', 'animate.sqlite'))).toBe(true);
    // Commands are registered by deploy-commands, never on start.
    expect(fake.requests.filter((r) => r.method === 'PUT' && r.path.includes('/commands'))).toEqual([]);
    // One line says it is up: who it is, how many servers, which store.
    const ready = run.stdout.split('\n').filter((l) => l.includes('"msg":"logged in as '));
    expect(ready).toHaveLength(1);
    const line = JSON.parse(ready[0] ?? '{}') as { msg?: string; servers?: number };
    expect(line.msg).toMatch(/^logged in as \S+, 1 server, store sqlite .*animate\.sqlite$/);
    expect(line.servers).toBe(1);
    // The fal models have no key: one warning line each, naming the setting.
    const warnings = logLines(run).filter((l) => l.level === 40);
    expect(warnings.map((l) => l.msg)).toEqual(['model fal/ray-2-flash is off: FAL_KEY is not set']);
    expect(run.stdout).not.toContain(discord.botToken);

    run.killGroup('SIGTERM');
    await run.closed;
    expect(run.stdout).toContain('"msg":"shutting down"');
    expect(run.stdout).toContain('"msg":"stopped"');
  }, 40_000);

  it('refuses to start with no provider key: one line, no log lines, exit 1', async () => {
    discord = await startFakeDiscord();
    const run = startIn({
      DISCORD_TOKEN: discord.botToken,
      DISCORD_CLIENT_ID: discord.applicationId,
      DISCORD_API_URL: discord.apiBase,
    });
    expect(await run.exit).toBe(1);
    await run.closed;
    const ours = run.stderr.split('\n').filter((l) => l.startsWith('animate:'));
    expect(ours).toEqual([
      'animate: could not start: no provider key is set: set WAVESPEED_API_KEY (WaveSpeed) or FAL_KEY (fal.ai)',
    ]);
    expect(logLines(run)).toEqual([]);
    expect(discord.gatewayReady).toBe(false);
  }, 30_000);

  it('a bad token fails the start with one line and no log lines after it', async () => {
    discord = await startFakeDiscord();
    const run = startIn({
      DISCORD_TOKEN: 'not-the-token',
      DISCORD_CLIENT_ID: discord.applicationId,
      DISCORD_API_URL: discord.apiBase,
      FAL_KEY: 'fal-key',
    });
    expect(await run.exit).toBe(1);
    await run.closed;
    expect(run.stderr.split('\n').filter((l) => l.startsWith('animate:'))).toEqual([
      expect.stringMatching(/^animate: could not start: /),
    ]);
    const lines = logLines(run).map((l) => l.msg);
    // Only the warnings about the models without a key; nothing about stopping what never ran.
    expect(lines).toEqual([
      'model wavespeed/ray-2-flash is off: WAVESPEED_API_KEY is not set',
      'model wavespeed/ray-2 is off: WAVESPEED_API_KEY is not set',
    ]);
  }, 30_000);

  it('deploy-commands registers /animate, /credits, /jobs and /animate-admin globally, or in DISCORD_GUILD_ID, and exits', async () => {
    discord = await startFakeDiscord();
    const fake = discord;
    const dir = projectCopy('start');
    dirs.push(dir);
    symlinkSync(join(ROOT, 'scripts'), join(dir, 'scripts'));
    const env = {
      DISCORD_TOKEN: fake.botToken,
      DISCORD_CLIENT_ID: fake.applicationId,
      DISCORD_API_URL: fake.apiBase,
    };

    const global = npmStart(dir, cleanEnv(env), 'deploy-commands');
    expect(await global.exit).toBe(0);
    expect(fake.commands.map((c) => c.name).sort()).toEqual(['animate', 'animate-admin', 'credits', 'jobs']);
    const animate = fake.commands.find((c) => c.name === 'animate') as
      { options?: { name: string }[] } | undefined;
    expect(animate?.options?.map((o) => o.name)).toEqual(
      expect.arrayContaining(['image', 'prompt', 'model', 'size', 'duration', 'enhance']),
    );
    // /animate-admin: Manage Server by default, servers only.
    expect(fake.commands.find((c) => c.name === 'animate-admin')).toMatchObject({
      default_member_permissions: '32',
      contexts: [0],
      integration_types: [0],
    });
    expect(global.stdout).toContain('Registered 4 commands globally');

    const guild = npmStart(dir, cleanEnv({ ...env, DISCORD_GUILD_ID: fake.guildId }), 'deploy-commands');
    expect(await guild.exit).toBe(0);
    expect(fake.guildCommands.map((c) => c.name).sort()).toEqual([
      'animate',
      'animate-admin',
      'credits',
      'jobs',
    ]);
    const admin = fake.guildCommands.find((c) => c.name === 'animate-admin');
    expect(admin?.default_member_permissions).toBe('32');
    expect(admin && 'contexts' in admin && admin.contexts).toBeFalsy();
  }, 40_000);

  it('stops the bot when npm is killed alone', async () => {
    const run = await runningBot();
    run.kill('SIGTERM');
    await run.closed;
    expect(await run.exit).toBe(0);
    expect(run.stdout).toContain('"msg":"shutting down"');
    expect(run.stdout).toContain('"msg":"stopped"');
  }, 40_000);

  it('stops the bot when npm dies without passing anything on (SIGKILL)', async () => {
    const run = await runningBot();
    run.kill('SIGKILL');
    await run.closed;
    expect(run.stderr).toContain('the process that started the bot is gone');
    expect(run.stdout).toContain('"msg":"stopped"');
  }, 40_000);
});
