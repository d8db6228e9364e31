// The discord.js client, configured once: the intents and partials the bot needs, and mentions
// off by default so nothing the bot echoes can ping anyone; messages opt users in one by one.
import { Client, GatewayIntentBits, Partials, type ClientOptions } from 'discord.js';

/**
 * How many shards the client connects. A number is passed as it is (under the sharding manager,
 * the manager's count; the manager also names the shard, which discord.js reads itself). `auto`
 * is `shards: 'auto'`: all the shards Discord recommends, counted at login. discord.js reads
 * SHARD_COUNT from the environment whenever it is handed a count of 1, and `auto` (or an empty
 * value from an env file) is not a count it can read, so `auto` comes with a count it replaces
 * at login (docs/sharding.md).
 */
function shardOptions(shardCount: number | 'auto' | undefined): Pick<ClientOptions, 'shards' | 'shardCount'> {
  if (shardCount === undefined) return {};
  return shardCount === 'auto' ? { shards: 'auto', shardCount: 2 } : { shardCount };
}

export function createDiscordClient(opts: { apiUrl: string; shardCount?: number | 'auto' }): Client {
  return new Client({
    ...shardOptions(opts.shardCount),
    // DirectMessageReactions: results can land in a DM, and 🔁 must work there too.
    intents: [
      GatewayIntentBits.Guilds,
      GatewayIntentBits.GuildMessages,
      GatewayIntentBits.GuildMessageReactions,
      GatewayIntentBits.DirectMessageReactions,
    ],
    // Reactions on messages sent before a restart arrive uncached: without these partials
    // discord.js drops them silently.
    partials: [Partials.Message, Partials.Reaction, Partials.User, Partials.Channel],
    allowedMentions: { parse: [] },
    rest: { api: opts.apiUrl },
  });
}
