// Whether the bot can post where an /animate was used, checked before anything is charged: a job
// the bot cannot deliver would only be retried, refunded and announced nowhere. See docs/discord.md.
import {
  ApplicationIntegrationType,
  InteractionContextType,
  PermissionFlagsBits,
  type ChatInputCommandInteraction,
} from 'discord.js';
import { Refusal } from '../failures.js';

/** What the bot needs in a server channel, named as Discord's settings name them. */
const VIEW = [PermissionFlagsBits.ViewChannel, 'View Channel'] as const;
const SEND = [PermissionFlagsBits.SendMessages, 'Send Messages'] as const;
const SEND_IN_THREADS = [PermissionFlagsBits.SendMessagesInThreads, 'Send Messages in Threads'] as const;

/**
 * Throws a Refusal when the bot cannot post the status, thread and result here with its token.
 * Attach Files and Create Public Threads are not needed: without them the result goes as its link
 * and the channel takes the thread's place.
 */
export function assertCanPost(interaction: ChatInputCommandInteraction): void {
  // A group DM or a DM between members reaches the bot only through a user install.
  if (interaction.context === InteractionContextType.PrivateChannel) {
    throw new Refusal({ code: 'not_in_server' });
  }
  if (!interaction.inGuild()) return;
  const guildInstalled =
    interaction.authorizingIntegrationOwners[ApplicationIntegrationType.GuildInstall] !== undefined;
  if (!guildInstalled || !interaction.guild) throw new Refusal({ code: 'not_in_server' });

  // In a thread, posting is its own permission.
  const needed = [VIEW, interaction.channel?.isThread() ? SEND_IN_THREADS : SEND];
  for (const [bit, name] of needed) {
    if (!interaction.appPermissions.has(bit))
      throw new Refusal({ code: 'missing_permission', permission: name });
  }
}
