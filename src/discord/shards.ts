// Which shard a guild belongs to, and which shards this process runs. Discord sends a guild's
// events to one shard only, so the process running that shard is the one that can hear about a
// job's guild; it owns the job (docs/sharding.md).
import type { Client } from 'discord.js';

/** Discord's own rule: `(guild_id >> 22) % shard_count`; DMs arrive on shard 0. */
export function shardOf(guildId: string | null, shardCount: number): number {
  if (guildId === null || shardCount <= 1) return 0;
  return Number((BigInt(guildId) >> 22n) % BigInt(shardCount));
}

/** The shards the client runs and how many there are in all (settled by login when `auto`). */
export function clientShards(client: Client): { ids: number[]; count: number } {
  const { shards, shardCount } = client.options;
  const ids = Array.isArray(shards) ? [...(shards as number[])] : typeof shards === 'number' ? [shards] : [0];
  return { ids, count: shardCount ?? 1 };
}

/**
 * Whether this process runs the jobs of a guild (null: DMs). Read at each call, so it reflects
 * the client after login; a process not started by a sharding manager runs every shard there is.
 */
export function ownsGuild(client: Client): (guildId: string | null) => boolean {
  return (guildId) => {
    const { ids, count } = clientShards(client);
    return ids.includes(shardOf(guildId, count));
  };
}
