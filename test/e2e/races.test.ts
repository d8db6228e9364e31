// Money under a stampede, end to end: many /animate at the same moment against the real bot, in
// one process on SQLite and in two processes sharing one real Redis (each interaction reaches
// one of them, as when several processes share an application's load). Whatever the
// interleaving, a member's holds never pass their balance, a server's spend never passes its
// cap, every refusal says why, and the books balance (the economy's audit finds no drift).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startBot, type Bot } from '../../src/main.js';
import { openStore } from '../../src/store/keyv.js';
import { startFakeDiscord, type FakeDiscord, type FakeUser } from '../fakes/discord/index.js';
import { startFakeWaveSpeed, type FakeWaveSpeed } from '../fakes/wavespeed.js';
import { openRedisStore, redisAvailable, redisUrl, stopRedis } from '../store/backends.js';
import { fakeBotEnv, PNG, WS_KEY } from './harness.js';

interface RaceWorld {
  discord: FakeDiscord;
  wavespeed: FakeWaveSpeed;
  bots: Bot[];
  /** The interactions each process answered (its 'command done' and 'command refused' log lines). */
  answered: number[];
  storeUrl: string;
  animate(user: FakeUser): Promise<string>;
  /** Stops the bots, then audits the store from a fresh connection: accounts whose entries do not sum to their balance. */
  stopAndAudit(): Promise<unknown[]>;
  close(): Promise<void>;
}

let world: RaceWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});
afterAll(stopRedis);

async function raceWorld(opts: {
  store: 'sqlite' | 'redis';
  processes: number;
  env?: Record<string, string>;
}): Promise<RaceWorld> {
  const discord = await startFakeDiscord();
  discord.interactionRouting = 'round-robin';
  const wavespeed = await startFakeWaveSpeed({ apiKey: WS_KEY, runMs: 100, queuedMs: 20 });
  const dir = mkdtempSync(join(tmpdir(), 'animate-race-'));
  let storeUrl = `sqlite://${join(dir, 'store.sqlite')}`;
  if (opts.store === 'redis') {
    storeUrl = await redisUrl();
    // One Redis serves the whole file: start every test on an empty one.
    const store = await openRedisStore();
    await store.keyv.clear();
    await store.close();
  }
  const config = loadConfig({
    ...fakeBotEnv(discord, wavespeed),
    STORE_URL: storeUrl,
    LOG_LEVEL: 'info',
    EXPECTED_RUN_MS: 'wavespeed/ray-2-flash=200,wavespeed/ray-2=200',
    ...opts.env,
  });
  const bots: Bot[] = [];
  const answered: number[] = [];
  for (let i = 0; i < opts.processes; i++) {
    answered.push(0);
    const logDestination = {
      write: (line: string) => {
        if (/"msg":"command (done|refused)"/.test(line)) answered[i] = (answered[i] ?? 0) + 1;
      },
    };
    bots.push(await startBot(config, { logDestination }));
  }
  expect(discord.sessions).toBe(opts.processes);
  let stopped = false;
  const stopBots = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(bots.map((b) => b.stop()));
  };
  return {
    discord,
    wavespeed,
    bots,
    answered,
    storeUrl,
    async animate(user) {
      const attachment = discord.addAttachment({ filename: 'cat.png', bytes: PNG, contentType: 'image/png' });
      const interaction = await discord.sendCommand({
        name: 'animate',
        user,
        attachments: [attachment],
        options: [
          { name: 'image', type: 11, value: attachment.id },
          { name: 'prompt', type: 3, value: 'the cat slowly blinks' },
        ],
      });
      return (await interaction.waitForReply(20_000)).content;
    },
    async stopAndAudit() {
      await stopBots();
      const store = await openStore(storeUrl, (error) => {
        throw error;
      });
      try {
        return await store.economy({ startingCredits: Number(opts.env?.STARTING_CREDITS ?? 100) }).audit();
      } finally {
        await store.close();
      }
    },
    async close() {
      await stopBots();
      await Promise.all([discord.close(), wavespeed.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const ACCEPTED = /^Accepted: 20 credits reserved/;
const NO_CREDITS = /^This video costs 20 credits and you have \d+\. A server admin can grant you more\./;
const CAPPED = /^This server has used its credits for now; the limit resets <t:\d+:R>\./;

/** Waits until every accepted job is delivered (the fake provider saw each submit once). */
async function allDelivered(w: RaceWorld, accepted: number): Promise<void> {
  await w.discord.waitFor(
    () => w.wavespeed.submissions.length === accepted && w.discord.threads.length === accepted,
    30_000,
  );
  // Each job's thread holds its one result.
  await w.discord.waitFor(
    () =>
      w.discord.threads.every((t) =>
        w.discord.messagesIn(t.id).some((m) => m.content.includes('your video is ready')),
      ),
    30_000,
  );
}

const count = (replies: string[], pattern: RegExp) => replies.filter((r) => pattern.test(r)).length;

/** One member whose balance covers exactly 7 Flash jobs sends `n` requests at once. */
async function oneMemberStampede(w: RaceWorld, n: number): Promise<void> {
  const member = w.discord.addUser({ username: 'eager' });
  const replies = await Promise.all(Array.from({ length: n }, () => w.animate(member)));
  expect({ accepted: count(replies, ACCEPTED), refused: count(replies, NO_CREDITS) }).toEqual({
    accepted: 7,
    refused: n - 7,
  });
  await allDelivered(w, 7);
  expect(w.wavespeed.submissions).toHaveLength(7);
  expect(w.answered.every((n) => n > 0)).toBe(true);
  expect(w.answered.reduce((a, b) => a + b)).toBe(n);
  expect(await w.stopAndAudit()).toEqual([]);
}

describe('a stampede of /animate', () => {
  it('one process on SQLite: 200 at once from a member who can pay for 7 → exactly 7 run, 193 told why', async () => {
    world = await raceWorld({ store: 'sqlite', processes: 1, env: { STARTING_CREDITS: '140' } });
    await oneMemberStampede(world, 200);
  }, 90_000);

  describe.runIf(redisAvailable() || process.env.CI)('two processes on one Redis', () => {
    it('50 at once from a member who can pay for 7 → exactly 7 run, 43 told why, both processes took part', async () => {
      const w = (world = await raceWorld({
        store: 'redis',
        processes: 2,
        env: { STARTING_CREDITS: '140' },
      }));
      await oneMemberStampede(w, 50);
    }, 90_000);

    it("a member's running-job limit holds across both processes: 4 at once with a limit of 1 run one after another", async () => {
      const w = (world = await raceWorld({
        store: 'redis',
        processes: 2,
        env: { MAX_ACTIVE_JOBS_PER_MEMBER: '1' },
      }));
      const member = w.discord.addUser({ username: 'patient' });
      // The most tasks the provider is running at once, sampled until all four are delivered.
      let most = 0;
      const sampler = setInterval(() => {
        const running = [...w.wavespeed.tasks.keys()].filter((id) => {
          const status = w.wavespeed.statusOf(id);
          return status !== 'completed' && status !== 'failed';
        }).length;
        most = Math.max(most, running);
      }, 5);
      try {
        const replies = await Promise.all(Array.from({ length: 4 }, () => w.animate(member)));
        expect(count(replies, ACCEPTED)).toBe(4);
        // Each process saw the other's running job and queued its own (or ran it, when free).
        await allDelivered(w, 4);
      } finally {
        clearInterval(sampler);
      }
      expect(most).toBe(1);
      expect(w.answered.every((n) => n > 0)).toBe(true);
      expect(await w.stopAndAudit()).toEqual([]);
    }, 90_000);

    it('a server cap covering 3 jobs, 10 members sending 5 each at once → exactly 3 run, the rest told when it resets', async () => {
      const w = (world = await raceWorld({ store: 'redis', processes: 2 }));
      const managers = w.discord.addRole({ name: 'managers', permissions: ['ManageGuild'] });
      const admin = w.discord.addUser({ username: 'admin' });
      w.discord.giveRole(admin.id, managers.id);
      const set = await w.discord.sendCommand({
        name: 'animate-admin',
        user: admin,
        options: [
          {
            name: 'cap',
            type: 1,
            options: [
              { name: 'amount', type: 4, value: 60 },
              { name: 'period', type: 3, value: 'day' },
            ],
          },
        ],
      });
      expect((await set.waitForReply(10_000)).ephemeral).toBe(true);

      const members = Array.from({ length: 10 }, (_, i) => w.discord.addUser({ username: `m${i}` }));
      const replies = await Promise.all(
        members.flatMap((m) => Array.from({ length: 5 }, () => w.animate(m))),
      );
      expect({ accepted: count(replies, ACCEPTED), capped: count(replies, CAPPED) }).toEqual({
        accepted: 3,
        capped: 47,
      });
      await allDelivered(w, 3);
      expect(w.wavespeed.submissions).toHaveLength(3);
      expect(await w.stopAndAudit()).toEqual([]);
    }, 90_000);
  });
});
