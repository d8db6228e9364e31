// shardOf is Discord's rule for which shard hears a guild: `(guild_id >> 22) % shard_count`,
// DMs on shard 0. The bot's ownership of jobs (docs/sharding.md) rests on it, and on the client
// knowing its shards, whatever SHARD_COUNT holds.
import { Events, type Client } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { createDiscordClient, destroyDiscordClient } from '../../src/discord/client.js';
import { clientShards, ownsGuild, shardOf } from '../../src/discord/shards.js';
import { startFakeDiscord } from '../fakes/discord/index.js';

/** A guild id whose timestamp part is `ms` (the low 22 bits are worker, process and counter). */
const guildAt = (ms: bigint, low = 0n): string => ((ms << 22n) | low).toString();

describe('shardOf', () => {
  it('is the id shifted right by 22, modulo the shard count', () => {
    expect(shardOf(guildAt(1000n), 2)).toBe(0);
    expect(shardOf(guildAt(1001n), 2)).toBe(1);
    expect(shardOf(guildAt(1003n), 4)).toBe(3);
    expect(shardOf(guildAt(1004n), 4)).toBe(0);
  });

  it("ignores the id's low 22 bits (worker, process and counter)", () => {
    expect(shardOf(guildAt(1001n, (1n << 22n) - 1n), 2)).toBe(1);
  });

  it('is exact for real 19-digit ids, beyond what a double holds', () => {
    // 1234567890123456789 >> 22 = 294343922167: odd, and 1 modulo 3. As a double the id rounds
    // to 1234567890123456768, whose shift is the same here, so check a case where rounding bites.
    expect(shardOf('1234567890123456789', 2)).toBe(1);
    expect(shardOf('1234567890123456789', 3)).toBe(1);
    // 2^53 + 2^22 * 3 − 1: its timestamp part is 2^31 + 2, as a double the id rounds up into 2^31 + 3.
    const edge = (2n ** 53n + 3n * 2n ** 22n - 1n).toString();
    expect(shardOf(edge, 2)).toBe(0);
    expect(shardOf('81384788765712384', 1)).toBe(0);
  });

  it('puts DMs (no guild) on shard 0', () => {
    expect(shardOf(null, 1)).toBe(0);
    expect(shardOf(null, 8)).toBe(0);
  });
});

describe('createDiscordClient and SHARD_COUNT', () => {
  it('starts with SHARD_COUNT=auto in the environment (discord.js reads that variable too) and takes Discord’s count', async () => {
    const fake = await startFakeDiscord();
    const before = process.env.SHARD_COUNT;
    process.env.SHARD_COUNT = 'auto';
    let client: Client | undefined;
    try {
      client = createDiscordClient({ apiUrl: fake.apiBase, shardCount: 'auto' });
      const ready = new Promise((resolve) => client?.once(Events.ClientReady, resolve));
      await client.login(fake.botToken);
      await ready;
      expect(clientShards(client)).toEqual({ ids: [0], count: 1 });
      expect(ownsGuild(client)(guildAt(1001n))).toBe(true);
    } finally {
      if (before === undefined) delete process.env.SHARD_COUNT;
      else process.env.SHARD_COUNT = before;
      await (client && destroyDiscordClient(client));
      await fake.close();
    }
  });

  it('a shard of two owns its guilds and, for shard 0, the DMs', () => {
    const client = createDiscordClient({ apiUrl: 'http://127.0.0.1:1/api', shardCount: 2 });
    client.options.shards = [1];
    expect([guildAt(1000n), guildAt(1001n), null].map(ownsGuild(client))).toEqual([false, true, false]);
    client.options.shards = [0];
    expect([guildAt(1000n), guildAt(1001n), null].map(ownsGuild(client))).toEqual([true, false, true]);
  });
});
