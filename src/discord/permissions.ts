// Whether the bot can post where an /animate was used, checked before anything is charged: a job
// the bot cannot deliver would only be retried, refunded and announced nowhere. See docs/discord.md.
import {
  ApplicationIntegrationType,
  ChannelFlags,
  InteractionContextType,
  PermissionFlagsBits,
  type ChatInputCommandInteraction,
} from 'discord.js';
import { Refusal } from '../failures.js';

/** What the bot needs in a server channel, named as Discord's settings name them. */
const VIEW = [PermissionFlagsBits.ViewChannel, 'View Channel'] as const;
const SEND = [PermissionFlagsBits.SendMessages, 'Send Messages'] as const;
const SEND_IN_THREADS = [PermissionFlagsBits.SendMessagesInThreads, 'Send Messages in Threads'] as const;
/** In a forum or media channel, Send Messages is what lets the bot start a post. */
const CREATE_POSTS = [PermissionFlagsBits.SendMessages, 'Create Posts'] as const;

/**
 * Throws a Refusal when the bot cannot post the status, thread and result here with its token.
 * Attach Files and Create Public Threads are not needed: without them the result goes as its link
 * and the channel takes the thread's place. In a forum or media channel the status starts a post.
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

  // Typed as text-based, but a forum's interaction names the forum: ask the cache for what it is.
  const channel = interaction.client.channels.cache.get(interaction.channelId);
  // A forum or media channel takes posts, not messages: the job gets a post of its own, which
  // cannot be made where every post needs a tag (the bot does not choose a server's tags).
  if (channel?.isThreadOnly() && channel.flags.has(ChannelFlags.RequireTag)) {
    throw new Refusal({ code: 'forum_requires_tag' });
  }
  // In a thread, posting is its own permission; a post is a thread the bot posts in too.
  const needed = channel?.isThreadOnly()
    ? [VIEW, CREATE_POSTS, SEND_IN_THREADS]
    : [VIEW, channel?.isThread() ? SEND_IN_THREADS : SEND];
  for (const [bit, name] of needed) {
    if (!interaction.appPermissions.has(bit))
      throw new Refusal({ code: 'missing_permission', permission: name });
  }
}
