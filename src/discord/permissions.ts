// The bot's own permissions in one table: what it asks for in the invite (`npm run invite`), why,
// and what happens without each. The check before /animate and the delivery's fallbacks read
// their bits from here, so the invite and the runtime cannot disagree. See docs/discord.md and
// docs/operations.md, "Invite permissions".
import {
  ApplicationIntegrationType,
  ChannelFlags,
  InteractionContextType,
  OAuth2Scopes,
  PermissionFlagsBits,
  type ChatInputCommandInteraction,
} from 'discord.js';
import { Refusal } from '../failures.js';

export interface BotPermission {
  /** As Discord's settings name it. */
  label: string;
  /** What the bot does with it. */
  why: string;
  /**
   * Without it: `refused` /animate refuses before charging; `falls back` the bot checks and takes
   * another way; `degrades` the bot does not check, Discord leaves that part out.
   */
  without: 'refused' | 'falls back' | 'degrades';
}

export const BOT_PERMISSIONS = {
  ViewChannel: {
    label: 'View Channel',
    why: 'see the channel /animate was used in, and the thread it starts there',
    without: 'refused',
  },
  SendMessages: {
    label: 'Send Messages',
    why: 'post the status card, and the result or failure notice when there is no thread',
    without: 'refused',
  },
  SendMessagesInThreads: {
    label: 'Send Messages in Threads',
    why: 'post the result into the thread (and the status card when /animate is used in a thread)',
    without: 'refused',
  },
  CreatePublicThreads: {
    label: 'Create Public Threads',
    why: 'start a thread from the status card for the result; without it the channel takes its place',
    without: 'falls back',
  },
  EmbedLinks: {
    label: 'Embed Links',
    why: 'show the status card (an embed) and let a video posted as a link unfold into a player',
    without: 'degrades',
  },
  AttachFiles: {
    label: 'Attach Files',
    why: 'upload the finished mp4; without it the video is posted as its link',
    without: 'falls back',
  },
  ReadMessageHistory: {
    label: 'Read Message History',
    why: 'find its own status card and result again after a restart, and react to its result',
    without: 'degrades',
  },
  AddReactions: {
    label: 'Add Reactions',
    why: 'put the 🔁 under each result, so members can rerun it with one click',
    without: 'degrades',
  },
} as const satisfies Partial<Record<keyof typeof PermissionFlagsBits, BotPermission>>;

export type BotPermissionName = keyof typeof BOT_PERMISSIONS;

/** The bit of a permission the bot uses; only names in the table compile. */
export const botPermission = (name: BotPermissionName): bigint => PermissionFlagsBits[name];

/** Every permission in the table, as one bit field: the invite's `permissions=`. */
export const BOT_PERMISSION_BITS: bigint = (Object.keys(BOT_PERMISSIONS) as BotPermissionName[]).reduce(
  (bits, name) => bits | botPermission(name),
  0n,
);

export const INVITE_SCOPES = [OAuth2Scopes.Bot, OAuth2Scopes.ApplicationsCommands] as const;

/** The OAuth2 URL that adds the bot to a server with exactly BOT_PERMISSIONS. */
export function inviteUrl(clientId: string): string {
  const query = new URLSearchParams({
    client_id: clientId,
    scope: INVITE_SCOPES.join(' '),
    permissions: BOT_PERMISSION_BITS.toString(),
  });
  return `https://discord.com/oauth2/authorize?${query.toString()}`;
}

/**
 * The first permission /animate cannot do without that `has` lacks, or undefined. In a thread,
 * posting is its own permission.
 */
export function missingToPost(has: (bit: bigint) => boolean, inThread: boolean): string | undefined {
  const needed: BotPermissionName[] = ['ViewChannel', inThread ? 'SendMessagesInThreads' : 'SendMessages'];
  const missing = needed.find((name) => !has(botPermission(name)));
  return missing === undefined ? undefined : BOT_PERMISSIONS[missing].label;
}

/**
 * The same for a forum or media channel, which takes posts, not messages: Send Messages is what
 * Discord's settings call Create Posts there, and the bot posts inside its post as in a thread.
 */
export function missingToPostInForum(has: (bit: bigint) => boolean): string | undefined {
  if (!has(botPermission('ViewChannel'))) return BOT_PERMISSIONS.ViewChannel.label;
  if (!has(botPermission('SendMessages'))) return 'Create Posts';
  if (!has(botPermission('SendMessagesInThreads'))) return BOT_PERMISSIONS.SendMessagesInThreads.label;
  return undefined;
}

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
  const has = (bit: bigint) => interaction.appPermissions.has(bit);
  const missing = channel?.isThreadOnly()
    ? missingToPostInForum(has)
    : missingToPost(has, channel?.isThread() === true);
  if (missing !== undefined) throw new Refusal({ code: 'missing_permission', permission: missing });
}
