// `npm run start:sharded` as an operator runs it: two shard processes under discord.js's
// ShardingManager on one real Redis, against a fake Discord that sends each guild to shard
// `(guild_id >> 22) % 2` (DMs to shard 0). One shard process is killed with SIGKILL while its job
// runs at the provider; the manager starts it again, and the outcome is checked from outside:
// every job delivered once, by its own shard, one submit per job, and credits exact.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createJobStore } from '../../src/store/jobs.js';
import { openStore } from '../../src/store/keyv.js';
import { startFakeDiscord, type FakeGuild, type FakeUser } from '../fakes/discord/index.js';
import { waitFor } from '../fakes/discord/wait.js';
import { startFakeWaveSpeed } from '../fakes/wavespeed.js';
import { freePort, openRedisStore, redisAvailable, redisUrl, stopRedis } from '../store/backends.js';
import { parseLines, type LogLine } from './child.js';
import { fakeBotEnv, PNG, WS_KEY } from './harness.js';
import { cleanEnv, projectCopy } from './project.js';

const STARTING = 100;

interface Sharded {
  child: ChildProcess;
  exited: Promise<number | null>;
  out: { stdout: string; stderr: string };
  logs(): LogLine[];
  /** Every pid the run logged (the manager's and each shard's), for the cleanup. */
  pids(): number[];
  waitFor<T>(fn: () => T | undefined | false, timeoutMs?: number): Promise<T>;
}

function startSharded(dir: string, env: Record<string, string>): Sharded {
  const child = spawn('npm', ['run', 'start:sharded'], {
    cwd: dir,
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout?.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  const logs = () => parseLines(out.stdout, 0);
  const describe = () =>
    `--- stdout (tail)\n${out.stdout.slice(-6000)}\n--- stderr\n${out.stderr.slice(-3000)}`;
  return {
    child,
    exited,
    out,
    logs,
    pids: () => [...new Set(logs().flatMap((l) => (typeof l.pid === 'number' ? [l.pid] : [])))],
    waitFor: (fn, timeoutMs = 30_000) => waitFor(fn, timeoutMs, describe),
  };
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});
afterAll(stopRedis);

describe('npm run start:sharded', () => {
  it('refuses an SQLite store in one line, exit code 1', async () => {
    const dir = projectCopy('sharded');
    try {
      const run = startSharded(dir, {
        DISCORD_TOKEN: 'token',
        DISCORD_CLIENT_ID: '123456789012345678',
        STORE_URL: 'sqlite://data/animate.sqlite',
      });
      expect(await run.exited).toBe(1);
      expect(run.out.stderr.trim().split('\n')).toEqual([
        'animate: start:sharded needs STORE_URL=redis://…: the shard processes share one store, and SQLite allows one process per file',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  describe.runIf(redisAvailable() || process.env.CI)('two shards on one Redis', () => {
    it('a shard killed mid-job is started again and delivers its job once; the other shard’s jobs are its own; credits exact', async () => {
      const storeUrl = await redisUrl();
      const clean = await openRedisStore();
      await clean.keyv.clear();
      await clean.close();

      const discord = await startFakeDiscord();
      // Tasks run until released, so the kill lands while the provider has the job.
      const wavespeed = await startFakeWaveSpeed({ apiKey: WS_KEY, runMs: 200, queuedMs: 20 });
      wavespeed.hold();
      const g0 = discord.addGuild({ shard: 0, shardCount: 2, name: 'even' });
      const g1 = discord.addGuild({ shard: 1, shardCount: 2, name: 'odd' });
      const ann = discord.addUser({ username: 'ann' });
      const bob = discord.addUser({ username: 'bob' });
      const dir = projectCopy('sharded');
      const run = startSharded(dir, {
        ...fakeBotEnv(discord, wavespeed),
        STORE_URL: storeUrl,
        STARTING_CREDITS: String(STARTING),
        SHARD_COUNT: '2',
        LOG_LEVEL: 'info',
        EXPECTED_RUN_MS: 'wavespeed/ray-2-flash=1000,wavespeed/ray-2=1000',
      });
      cleanup = async () => {
        for (const pid of run.pids()) if (alive(pid)) process.kill(pid, 'SIGKILL');
        run.child.kill('SIGKILL');
        await Promise.all([discord.close(), wavespeed.close()]);
        rmSync(dir, { recursive: true, force: true });
      };

      const shardLines = (shard: number) =>
        run.logs().filter((l) => l.shard === shard && l.role !== 'manager');
      const managerLines = (msg: string) => run.logs().filter((l) => l.role === 'manager' && l.msg === msg);
      await run.waitFor(() => managerLines('all shards ready').length === 1, 90_000);
      await run.waitFor(() => [0, 1].every((s) => shardLines(s).some((l) => l.msg === 'resumed open jobs')));
      expect(discord.shards.sort()).toEqual([
        [0, 2],
        [1, 2],
      ]);

      const animate = async (user: FakeUser, where: FakeGuild | 'dm', prompt: string) => {
        const channelId = where === 'dm' ? discord.dmChannelFor(user.id).id : where.channelId;
        const attachment = discord.addAttachment({
          filename: 'cat.png',
          bytes: PNG,
          contentType: 'image/png',
          channelId,
        });
        const interaction = await discord.sendCommand({
          name: 'animate',
          user,
          ...(where === 'dm' ? { inDm: true } : { channelId }),
          attachments: [attachment],
          options: [
            { name: 'image', type: 11, value: attachment.id },
            { name: 'prompt', type: 3, value: prompt },
          ],
        });
        return (await interaction.waitForReply(20_000)).content;
      };
      const replies = await Promise.all([
        animate(ann, g0, 'a cat in the even guild'),
        animate(bob, g1, 'a cat in the odd guild'),
        animate(ann, 'dm', 'a cat in a DM'),
      ]);
      for (const reply of replies) expect(reply).toMatch(/^Accepted: 20 credits reserved/);
      await run.waitFor(() => wavespeed.submissions.length === 3);

      // Which job is which, from the store both shards write.
      const store = await openRedisStore();
      const jobs = await createJobStore(store.keyv, store.openIndex).listOpen();
      await store.close();
      const jobIn = (guildId: string | null) => {
        const job = jobs.find((j) => j.guildId === guildId);
        if (!job) throw new Error(`no job in ${guildId ?? 'a DM'}: ${JSON.stringify(jobs)}`);
        return job.id;
      };
      const [even, odd, dm] = [jobIn(g0.id), jobIn(g1.id), jobIn(null)];
      const lineOf = (msg: string, jobId: string) =>
        run.logs().filter((l) => l.msg === msg && l.jobId === jobId);
      // Each job was accepted by the shard of its guild (DMs: shard 0).
      expect([even, odd, dm].map((id) => lineOf('job accepted', id).map((l) => l.shard))).toEqual([
        [0],
        [1],
        [0],
      ]);

      // Shard 1 dies while the provider runs its job; the manager starts it again.
      const spawned = (shard: number) => managerLines('shard spawned').filter((l) => l.shard === shard);
      const [first] = spawned(1).map((l) => Number(l.pid));
      const shard0 = Number(spawned(0)[0]?.pid);
      expect(first).toBeGreaterThan(0);
      process.kill(first ?? 0, 'SIGKILL');
      await run.waitFor(() =>
        managerLines('shard died').some((l) => l.shard === 1 && l.signal === 'SIGKILL'),
      );
      const second = await run.waitFor(() => spawned(1)[1]?.pid, 60_000);
      const resumed = await run.waitFor(
        () => run.logs().find((l) => l.msg === 'resumed open jobs' && l.pid === second),
        60_000,
      );
      // It took back its own job only: the other two belong to shard 0, which is running them.
      expect({ jobs: resumed.jobs, otherShards: resumed.otherShards }).toEqual({ jobs: 1, otherShards: 2 });

      wavespeed.release();
      await run.waitFor(() => [even, odd, dm].every((id) => lineOf('job delivered', id).length > 0), 60_000);

      // Delivered once each, by its own shard: the odd guild's by the restarted process.
      expect([even, odd, dm].map((id) => lineOf('job delivered', id).map((l) => [l.shard, l.pid]))).toEqual([
        [[0, shard0]],
        [[1, second]],
        [[0, shard0]],
      ]);
      // Shard 0 never touched the odd guild's job, nor shard 1 the others.
      expect(run.logs().filter((l) => l.jobId === odd && l.shard !== 1)).toEqual([]);
      expect(run.logs().filter((l) => (l.jobId === even || l.jobId === dm) && l.shard !== 0)).toEqual([]);
      // One result message per job in Discord, one submit per job at the provider.
      const places = [
        g0.channelId,
        g1.channelId,
        discord.dmChannelFor(ann.id).id,
        ...discord.threads.map((t) => t.id),
      ];
      const results = places
        .flatMap((id) => discord.messagesIn(id))
        .flatMap((m) => {
          const jobId = /^-# result · job ([A-Za-z0-9_-]+)$/m.exec(m.content)?.[1];
          return jobId ? [jobId] : [];
        });
      expect(results.sort()).toEqual([even, odd, dm].sort());
      expect(wavespeed.submissions).toHaveLength(3);
      expect(new Set(wavespeed.submissions.map((s) => s.taskId)).size).toBe(3);

      // A clean stop: the manager passes SIGTERM on and exits 0 once both shards have stopped.
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
      expect(managerLines('stopped').map((l) => l.clean)).toEqual([true]);
      expect(
        run
          .logs()
          .filter((l) => l.msg === 'stopped' && l.role !== 'manager')
          .map((l) => l.shard)
          .sort(),
      ).toEqual([0, 1]);

      // Credits exact across the shards and the kill: each account paid exactly one job, nothing held.
      const books = await openStore(storeUrl, (error) => {
        throw error;
      });
      try {
        const economy = books.economy({ startingCredits: STARTING });
        const wallets = await Promise.all(
          [
            { scope: g0.id, userId: ann.id },
            { scope: g1.id, userId: bob.id },
            { scope: 'dm', userId: ann.id },
          ].map((account) => economy.wallet(account)),
        );
        expect(wallets.map((w) => [w.free, w.held])).toEqual([
          [STARTING - 20, 0],
          [STARTING - 20, 0],
          [STARTING - 20, 0],
        ]);
        expect(await economy.audit()).toEqual([]);
      } finally {
        await books.close();
      }
    }, 180_000);

    it('with PUBLIC_URL the manager checks each webhook and its shards wake their own jobs at once', async () => {
      const storeUrl = await redisUrl();
      const clean = await openRedisStore();
      await clean.keyv.clear();
      await clean.close();
      const discord = await startFakeDiscord();
      const wavespeed = await startFakeWaveSpeed({ apiKey: WS_KEY, runMs: 300, queuedMs: 20 });
      const g0 = discord.addGuild({ shard: 0, shardCount: 2, name: 'even' });
      const g1 = discord.addGuild({ shard: 1, shardCount: 2, name: 'odd' });
      const ann = discord.addUser({ username: 'ann' });
      const port = await freePort();
      const dir = projectCopy('sharded');
      const run = startSharded(dir, {
        ...fakeBotEnv(discord, wavespeed),
        STORE_URL: storeUrl,
        SHARD_COUNT: '2',
        LOG_LEVEL: 'info',
        PUBLIC_URL: `http://127.0.0.1:${port}`,
        WEBHOOK_PORT: String(port),
        // No safety-net poll comes for a minute: only the webhook can end these jobs in time.
        EXPECTED_RUN_MS: 'wavespeed/ray-2-flash=60000,wavespeed/ray-2=60000',
      });
      cleanup = async () => {
        for (const pid of run.pids()) if (alive(pid)) process.kill(pid, 'SIGKILL');
        run.child.kill('SIGKILL');
        await Promise.all([discord.close(), wavespeed.close()]);
        rmSync(dir, { recursive: true, force: true });
      };
      await run.waitFor(
        () => run.logs().some((l) => l.role === 'manager' && l.msg === 'all shards ready'),
        90_000,
      );
      for (const guild of [g0, g1]) {
        const attachment = discord.addAttachment({
          filename: 'cat.png',
          bytes: PNG,
          contentType: 'image/png',
          channelId: guild.channelId,
        });
        const interaction = await discord.sendCommand({
          name: 'animate',
          user: ann,
          channelId: guild.channelId,
          attachments: [attachment],
          options: [
            { name: 'image', type: 11, value: attachment.id },
            { name: 'prompt', type: 3, value: `a cat in ${guild.name}` },
          ],
        });
        expect((await interaction.waitForReply(20_000)).content).toMatch(/^Accepted/);
      }
      const delivered = () => run.logs().filter((l) => l.msg === 'job delivered');
      await run.waitFor(() => delivered().length === 2, 30_000);
      expect(wavespeed.submissions.map((s) => s.webhook)).toEqual([
        `http://127.0.0.1:${port}/webhooks/wavespeed`,
        `http://127.0.0.1:${port}/webhooks/wavespeed`,
      ]);
      expect(wavespeed.webhooks.map((d) => d.status)).toEqual([200, 200]);
      // Each video noticed by its own shard because of the push: one poll per job, the result.
      const ready = run.logs().filter((l) => l.msg === 'video ready');
      expect(ready.map((l) => [l.shard, l.pushed]).sort()).toEqual([
        [0, true],
        [1, true],
      ]);
      expect(wavespeed.polls).toHaveLength(2);
      // One listener for the machine, in the manager; it fetched the secret once.
      expect(
        run
          .logs()
          .filter((l) => l.msg === 'webhook received')
          .map((l) => l.role),
      ).toEqual(['manager', 'manager']);
      expect(wavespeed.secretFetches).toBe(1);
    }, 120_000);
  });
});
