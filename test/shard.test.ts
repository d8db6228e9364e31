// The sharding manager's decisions before it starts anything: what it refuses (in one line),
// how many shards and which, and the count Discord recommends for SHARD_COUNT=auto.
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { recommendedShards, shardPlan, shardingRefusal } from '../src/shard.js';
import { startFakeDiscord, type FakeDiscord } from './fakes/discord/index.js';

const config = (env: Record<string, string>) =>
  loadConfig({ DISCORD_TOKEN: 't', DISCORD_CLIENT_ID: '123456789012345678', ...env });

describe('shardingRefusal', () => {
  it('refuses SQLite: the shard processes share one store', () => {
    expect(shardingRefusal(config({}))).toMatch(/^start:sharded needs STORE_URL=redis:\/\/…/);
    expect(shardingRefusal(config({ STORE_URL: 'sqlite:///srv/animate.sqlite' }))).toBeDefined();
  });

  it('accepts redis:// and rediss://', () => {
    expect(shardingRefusal(config({ STORE_URL: 'redis://127.0.0.1:6379' }))).toBeUndefined();
    expect(shardingRefusal(config({ STORE_URL: 'rediss://cache.example:6380' }))).toBeUndefined();
  });

  it('refuses SHARD_IDS with SHARD_COUNT=auto: machines asking Discord apart could disagree on the count', () => {
    const refusal = shardingRefusal(config({ STORE_URL: 'redis://r:6379', SHARD_IDS: '0,1' }));
    expect(refusal).toMatch(/^SHARD_IDS needs a number in SHARD_COUNT/);
    expect(refusal).not.toContain('\n');
  });
});

describe('shardPlan', () => {
  it('runs every shard unless SHARD_IDS names some', () => {
    expect(shardPlan(config({ SHARD_COUNT: '3' }))).toEqual({ total: 3, ids: [0, 1, 2] });
    expect(shardPlan(config({ SHARD_COUNT: '4', SHARD_IDS: '2,3' }))).toEqual({ total: 4, ids: [2, 3] });
  });

  it('takes the recommended count for auto', () => {
    expect(shardPlan(config({}), 2)).toEqual({ total: 2, ids: [0, 1] });
  });
});

describe('recommendedShards', () => {
  let discord: FakeDiscord | undefined;
  afterEach(async () => {
    await discord?.close();
    discord = undefined;
  });

  it('asks GET /gateway/bot on DISCORD_API_URL', async () => {
    discord = await startFakeDiscord({ recommendedShards: 3 });
    expect(
      await recommendedShards({ DISCORD_API_URL: discord.apiBase, DISCORD_TOKEN: discord.botToken }),
    ).toBe(3);
  });

  it('fails on a bad token (401), before any shard is started', async () => {
    discord = await startFakeDiscord();
    await expect(
      recommendedShards({ DISCORD_API_URL: discord.apiBase, DISCORD_TOKEN: 'wrong' }),
    ).rejects.toThrow(/401|Unauthorized/);
  });
});
