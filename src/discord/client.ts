// The discord.js client, configured once: the intents and partials the bot needs, and mentions
// off by default so nothing the bot echoes can ping anyone; messages opt users in one by one.
import { Client, GatewayIntentBits, Partials } from 'discord.js';

export function createDiscordClient(opts: { apiUrl: string }): Client {
  return new Client({
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
