// The bot's command and reaction routing on a real discord.js client, logged in to a fake Discord
// with the commands registered from their real JSON (so every interaction a test sends is checked
// against /animate-admin's registration), a real guild settings store and a real economy on
// in-memory Keyv, and a recording engine: a test sees whether /animate or a rerun got past the
// gate to the engine, without running a job.
import { Events, REST, Routes, type Client } from 'discord.js';
import Keyv from 'keyv';
import { afterEach } from 'vitest';
import { commands } from '../../src/commands/index.js';
import type { CommandDeps } from '../../src/commands/types.js';
import { createDiscordClient } from '../../src/discord/client.js';
import { createDelivery } from '../../src/discord/delivery.js';
import { createFollowUps } from '../../src/discord/followups.js';
import { routeInteractions } from '../../src/discord/interactions.js';
import { routeReactions } from '../../src/discord/reactions.js';
import type { Engine, Quote } from '../../src/engine/engine.js';
import { createLogger } from '../../src/logger.js';
import { createKeyvEconomy } from '../../src/store/economy-keyv.js';
import type { Economy } from '../../src/store/economy.js';
import { createGuildSettingsStore, type GuildSettingsStore } from '../../src/store/guild-settings.js';
import type { JobRecord } from '../../src/store/jobs.js';
import { startFakeDiscord, type FakeDiscord, type FakeUser } from '../fakes/discord/index.js';
import { PNG } from '../e2e/harness.js';
import { makeJob } from '../fixtures/job.js';

export interface AdminWorld {
  fake: FakeDiscord;
  client: Client;
  economy: Economy;
  settings: GuildSettingsStore;
  /** What reached the engine: every quote and rerun asked for. */
  quotes: Array<{ userId: string; model: string }>;
  reruns: Array<{ userId: string; original: string }>;
  /** Every log line, parsed. */
  logs: Array<Record<string, unknown>>;
  clock: { now: number };
  /** ADMIN_USER_IDS as the handlers see it; tests add to it. */
  operators: Set<string>;
  /** A member with no roles and no Manage Server. */
  member: FakeUser;
  /** A member who has Manage Server through a role. */
  admin: FakeUser;
  /** Sends /animate-admin with a subcommand (and group) and its options; resolves to the reply. */
  adminCommand(
    user: FakeUser,
    path: string,
    options?: Record<string, string | number>,
  ): Promise<{ content: string; ephemeral: boolean }>;
  /** Sends /animate with an image and a prompt; resolves to the reply. */
  animate(
    user: FakeUser,
    opts?: { prompt?: string; channelId?: string; model?: string },
  ): Promise<{ content: string; ephemeral: boolean }>;
  /** Posts a result message of `job` from the bot and reacts 🔁 to it as `user`. */
  rerun(user: FakeUser, opts?: { channelId?: string; job?: Partial<JobRecord> }): JobRecord;
  /** The texts of the DMs the bot sent `user`. */
  dmsTo(user: FakeUser): string[];
}

const OPTION_TYPES: Record<string, number> = {
  member: 6,
  amount: 4,
  jobs: 4,
  channel: 7,
  role: 8,
};

export function adminWorlds(): (opts?: {
  creditsScope?: 'guild' | 'global';
  startingCredits?: number;
}) => Promise<AdminWorld> {
  const open: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of open.splice(0)) await close();
  });

  return async (opts = {}) => {
    const fake = await startFakeDiscord();
    const client = createDiscordClient({ apiUrl: fake.apiBase });
    open.push(async () => {
      await client.destroy();
      await fake.close();
    });
    const logs: Array<Record<string, unknown>> = [];
    const log = createLogger({
      level: 'debug',
      destination: { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
    });
    const clock = { now: Date.UTC(2025, 4, 14, 12) };
    const now = () => clock.now;
    const keyv = new Keyv();
    const economy = createKeyvEconomy({ keyv, startingCredits: opts.startingCredits ?? 100, now });
    const settings = createGuildSettingsStore(keyv);
    const operators = new Set<string>();
    const quotes: AdminWorld['quotes'] = [];
    const reruns: AdminWorld['reruns'] = [];
    const results = new Map<string, JobRecord>();
    const refusedQuote: Quote = {
      ok: false,
      failure: { code: 'insufficient_credits', price: 20, balance: 0 },
    };
    const engine = {
      quote: (who: { userId: string }, request: { model: string }) => {
        quotes.push({ userId: who.userId, model: request.model });
        return Promise.resolve(refusedQuote);
      },
      accept: () => Promise.reject(new Error('not in these tests')),
      rerun: (who: { userId: string }, original: JobRecord) => {
        reruns.push({ userId: who.userId, original: original.id });
        return Promise.resolve({ ok: false, failure: { code: 'input_image_gone' } });
      },
      jobForResult: (messageId: string) => Promise.resolve(results.get(messageId)),
      job: () => Promise.resolve(undefined),
      resume: () => Promise.resolve(0),
      stop: () => Promise.resolve(),
    } as unknown as Engine;

    const deps: CommandDeps = {
      followUps: createFollowUps(),
      engine,
      economy,
      settings,
      adminUserIds: operators,
      creditsScope: opts.creditsScope ?? 'guild',
      now,
      fetchImage: () => Promise.reject(new Error('not in these tests')),
      defaultModel: 'wavespeed/ray-2-flash',
      log,
    };
    routeInteractions(client, commands, deps);
    routeReactions(client, { engine, delivery: createDelivery(client, log), settings, log });
    const ready = new Promise((resolve) => client.once(Events.ClientReady, resolve));
    await client.login(fake.botToken);
    await ready;
    const rest = new REST({ version: '10', api: fake.apiBase }).setToken(fake.botToken);
    await rest.put(Routes.applicationCommands(fake.applicationId), { body: commands.map((c) => c.data) });

    const managers = fake.addRole({ name: 'managers', permissions: ['ManageGuild'] });
    const admin = fake.addUser({ username: 'admin' });
    fake.giveRole(admin.id, managers.id);
    const member = fake.addUser({ username: 'member' });

    const world: AdminWorld = {
      fake,
      client,
      economy,
      settings,
      quotes,
      reruns,
      logs,
      clock,
      operators,
      member,
      admin,
      async adminCommand(user, path, options = {}) {
        const [first, second] = path.split(' ') as [string, string | undefined];
        const leaves = Object.entries(options).map(([name, value]) => ({
          name,
          type: OPTION_TYPES[name] ?? 3,
          value,
        }));
        const sub = second
          ? [{ name: first, type: 2, options: [{ name: second, type: 1, options: leaves }] }]
          : [{ name: first, type: 1, options: leaves }];
        const interaction = await fake.sendCommand({ name: 'animate-admin', user, options: sub });
        return interaction.waitForReply();
      },
      async animate(user, opts = {}) {
        const attachment = fake.addAttachment({ filename: 'cat.png', bytes: PNG, contentType: 'image/png' });
        const interaction = await fake.sendCommand({
          name: 'animate',
          user,
          ...(opts.channelId ? { channelId: opts.channelId } : {}),
          attachments: [attachment],
          options: [
            { name: 'image', type: 11, value: attachment.id },
            { name: 'prompt', type: 3, value: opts.prompt ?? 'the cat slowly blinks' },
            ...(opts.model ? [{ name: 'model', type: 3, value: opts.model }] : []),
          ],
        });
        return interaction.waitForReply();
      },
      rerun(user, opts = {}) {
        const channelId = opts.channelId ?? fake.channelId;
        const job = makeJob({ guildId: fake.guildId, channelId, state: 'delivered', ...opts.job });
        const result = fake.addMessage({ author: fake.botUser, channelId, content: 'your video is ready' });
        results.set(result.id, job);
        fake.react({ user, channelId, messageId: result.id, emoji: '🔁' });
        return job;
      },
      dmsTo(user) {
        return fake.messagesIn(fake.dmChannelFor(user.id).id).map((m) => m.content);
      },
    };
    return world;
  };
}
