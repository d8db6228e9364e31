// Runs the real bot (its composition root, the real discord.js client) against a fake Discord
// and fake providers on 127.0.0.1, with its own SQLite file and its logs captured.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { Clock } from '../../src/engine/clock.js';
import { startBot, type Bot } from '../../src/main.js';
import {
  startFakeDiscord,
  type FakeAttachment,
  type FakeDiscord,
  type FakeUser,
  type StoredMessage,
} from '../fakes/discord/index.js';
import { startFakeFal, type FakeFal } from '../fakes/fal.js';
import { startFakeWaveSpeed, type FakeWaveSpeed } from '../fakes/wavespeed.js';

/** A real 1×1 PNG. */
export const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

export const WS_KEY = 'ws-test-key-0123456789';

/** The settings that point a bot at a fake Discord and a fake WaveSpeed (with WS_KEY). */
export function fakeBotEnv(discord: FakeDiscord, wavespeed: FakeWaveSpeed): Record<string, string> {
  return {
    DISCORD_TOKEN: discord.botToken,
    DISCORD_CLIENT_ID: discord.applicationId,
    DISCORD_API_URL: discord.apiBase,
    DISCORD_CDN_HOSTS: discord.cdnHost,
    WAVESPEED_API_KEY: WS_KEY,
    WAVESPEED_BASE_URL: wavespeed.baseUrl,
  };
}
export const FAL_KEY = 'fal-test-key-0123456789';

export interface AnimateOptions {
  prompt?: string;
  image?: Buffer;
  filename?: string;
  user?: FakeUser;
  options?: { name: string; type: number; value: string | number | boolean }[];
  channelId?: string;
  inDm?: boolean;
  attachmentSizeLimit?: number;
  /** More attachments for the interaction's `resolved` map, e.g. one an `end_image` option names. */
  extraAttachments?: FakeAttachment[];
}

export interface World {
  discord: FakeDiscord;
  wavespeed: FakeWaveSpeed;
  fal: FakeFal;
  bot: Bot;
  member: FakeUser;
  /** Every log line the bot wrote, as raw JSON text. */
  logs: string[];
  storeUrl: string;
  animate(opts?: AnimateOptions): ReturnType<FakeDiscord['sendCommand']>;
  restart(env?: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

export async function startWorld(
  env: Record<string, string> = {},
  fakes: {
    wavespeed?: Parameters<typeof startFakeWaveSpeed>[0];
    fal?: Parameters<typeof startFakeFal>[0];
    /** The bot's clock (StartOptions.clock), kept across restarts; the system clock when absent. */
    clock?: Clock;
  } = {},
): Promise<World> {
  const discord = await startFakeDiscord();
  const wavespeed = await startFakeWaveSpeed({ apiKey: WS_KEY, ...fakes.wavespeed });
  const fal = await startFakeFal({ apiKey: FAL_KEY, ...fakes.fal });
  const dir = mkdtempSync(join(tmpdir(), 'animate-e2e-'));
  const storeUrl = `sqlite://${join(dir, 'store.sqlite')}`;
  const logs: string[] = [];
  const destination = { write: (line: string) => void logs.push(line) };
  const baseEnv = {
    ...fakeBotEnv(discord, wavespeed),
    FAL_KEY,
    FAL_QUEUE_URL: fal.queueUrl,
    FAL_STORAGE_URL: fal.storageUrl,
    FAL_JWKS_URL: fal.jwksUrl,
    STORE_URL: storeUrl,
    LOG_LEVEL: 'debug',
    // The fakes finish a job in about 250 ms; tell the bot so, or it polls on a 59 s schedule.
    EXPECTED_RUN_MS: 'wavespeed/ray-2-flash=400,wavespeed/ray-2=400,fal/ray-2-flash=400',
  };
  const boot = (extra: Record<string, string>) =>
    startBot(loadConfig({ ...baseEnv, ...extra }), {
      logDestination: destination,
      ...(fakes.clock ? { clock: fakes.clock } : {}),
    });
  const world: World = {
    discord,
    wavespeed,
    fal,
    bot: await boot(env),
    member: discord.addUser({ username: 'member' }),
    logs,
    storeUrl,
    animate(opts = {}) {
      const attachment = discord.addAttachment({
        filename: opts.filename ?? 'cat.png',
        bytes: opts.image ?? PNG,
        contentType: 'image/png',
      });
      return discord.sendCommand({
        name: 'animate',
        user: opts.user ?? world.member,
        ...(opts.channelId ? { channelId: opts.channelId } : {}),
        ...(opts.inDm ? { inDm: true } : {}),
        ...(opts.attachmentSizeLimit ? { attachmentSizeLimit: opts.attachmentSizeLimit } : {}),
        attachments: [attachment, ...(opts.extraAttachments ?? [])],
        options: [
          { name: 'image', type: 11, value: attachment.id },
          { name: 'prompt', type: 3, value: opts.prompt ?? 'the cat slowly blinks' },
          ...(opts.options ?? []),
        ],
      });
    },
    async restart(extra = env) {
      await world.bot.stop();
      world.bot = await boot(extra);
    },
    async close() {
      await world.bot.stop();
      await Promise.all([discord.close(), wavespeed.close(), fal.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return world;
}

/** Every secret the bot holds; none may ever appear in a log line or a Discord request. */
export function secretsOf(world: World): string[] {
  const tokens = world.discord.interactions.map((i) => i.token);
  return [world.discord.botToken, WS_KEY, FAL_KEY, ...tokens];
}

/**
 * Ends a test's world: first checks that no secret reached a log line or anything sent to
 * Discord (interaction tokens are allowed only in the webhook routes that must carry them).
 */
export async function closeChecked(world: World | undefined): Promise<void> {
  if (!world) return;
  const sent = JSON.stringify(world.discord.requests.map((r) => ({ path: r.path, json: r.json })));
  const logs = world.logs.join('\n');
  try {
    for (const secret of secretsOf(world)) {
      expect(logs).not.toContain(secret);
      expect(sent.replace(/\/(webhooks|interactions)\/\d+\/[^/"]+/g, '')).not.toContain(secret);
    }
  } finally {
    await world.close();
  }
}

/** Messages in the first thread the bot started. */
export function threadMessages(w: World): StoredMessage[] {
  const thread = w.discord.threads[0];
  return thread ? w.discord.messagesIn(thread.id) : [];
}

export const results = (w: World): StoredMessage[] =>
  threadMessages(w).filter((m) => m.content.includes('your video is ready'));

export function resultMessage(w: World): Promise<StoredMessage> {
  return w.discord.waitFor(() => results(w)[0], 10_000);
}

/** A member's balance as /credits shows it. */
export async function creditsOf(w: World, user = w.member): Promise<number> {
  const reply = await (await w.discord.sendCommand({ name: 'credits', user })).waitForReply();
  return Number(/\*\*(\d+)\*\*/.exec(reply.content)?.[1]);
}
