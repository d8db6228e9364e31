// The discord.js client, configured once: the intents and partials the bot needs, and mentions
// off by default so nothing the bot echoes can ping anyone; messages opt users in one by one.
import { createRequire } from 'node:module';
import { Client, GatewayIntentBits, Partials, type ClientOptions } from 'discord.js';

/**
 * How long an idle connection to Discord's API stays open. discord.js's default agent drops one
 * after 4 s, so every burst after a quiet moment opened a connection per concurrent request (a
 * TCP and TLS handshake in front of each acknowledgement). Discord's edge keeps idle HTTP/1.1
 * connections for 400 s, so a minute is always ours to end (docs/discord.md, "Answering within
 * 3 seconds").
 */
export const DISCORD_KEEP_ALIVE_MS = 60_000;

type RestAgent = NonNullable<NonNullable<ClientOptions['rest']>['agent']>;

/**
 * An agent from the very undici that discord.js's REST client calls (its own undici 6, not ours):
 * an agent from another copy dispatches plain requests but breaks its multipart uploads.
 */
function restAgent(options: { keepAliveTimeout: number; keepAliveMaxTimeout: number }): RestAgent {
  const discordJs = createRequire(import.meta.url).resolve('discord.js');
  const rest = createRequire(discordJs).resolve('@discordjs/rest');
  const { Agent } = createRequire(rest)('undici') as { Agent: new (o: typeof options) => RestAgent };
  return new Agent(options);
}

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
    rest: {
      api: opts.apiUrl,
      // The cap also holds against a server's Keep-Alive hint.
      agent: restAgent({
        keepAliveTimeout: DISCORD_KEEP_ALIVE_MS,
        keepAliveMaxTimeout: DISCORD_KEEP_ALIVE_MS,
      }),
    },
  });
}

/** Destroys the client and closes its connections to the API (client.destroy() leaves them). */
export async function destroyDiscordClient(client: Client): Promise<void> {
  await client.destroy();
  await client.rest.agent?.close();
}
