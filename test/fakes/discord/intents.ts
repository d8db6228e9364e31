// Gateway intent rules: Discord, not discord.js, filters events, so the fake must drop what the bot
// did not ask for, or tests pass where production stays silent.

export const Intent = {
  Guilds: 1 << 0,
  GuildMembers: 1 << 1,
  GuildMessages: 1 << 9,
  GuildMessageReactions: 1 << 10,
  DirectMessages: 1 << 12,
  DirectMessageReactions: 1 << 13,
  MessageContent: 1 << 15,
} as const;

const intentName = (bits: number): string =>
  Object.entries(Intent).find(([, value]) => value === bits)?.[0] ?? String(bits);

/** The intent an event needs, or null when it is always sent (READY, INTERACTION_CREATE, ...). */
export function requiredIntent(t: string, d: Record<string, unknown>): number | null {
  const inGuild = typeof d.guild_id === 'string';
  if (t.startsWith('MESSAGE_REACTION_'))
    return inGuild ? Intent.GuildMessageReactions : Intent.DirectMessageReactions;
  if (t.startsWith('MESSAGE_')) return inGuild ? Intent.GuildMessages : Intent.DirectMessages;
  if (t.startsWith('GUILD_MEMBER')) return Intent.GuildMembers;
  if (t.startsWith('CHANNEL_') || t.startsWith('THREAD_') || t.startsWith('GUILD_'))
    return inGuild ? Intent.Guilds : null;
  return null;
}

export function missingIntentReason(bits: number): string {
  return `missing intent ${intentName(bits)}`;
}

/**
 * Without MESSAGE_CONTENT, guild messages from others arrive with empty content, embeds, attachments
 * and components unless they mention the bot (Discord's documented exceptions).
 */
export function redactContent(
  t: string,
  d: Record<string, unknown>,
  intents: number,
  botUserId: string,
): Record<string, unknown> {
  if (t !== 'MESSAGE_CREATE' && t !== 'MESSAGE_UPDATE') return d;
  if ((intents & Intent.MessageContent) !== 0 || typeof d.guild_id !== 'string') return d;
  const author = d.author;
  const authorId = typeof author === 'object' && author !== null && 'id' in author ? author.id : undefined;
  if (authorId === botUserId) return d;
  if (typeof d.content === 'string' && d.content.includes(`<@${botUserId}>`)) return d;
  return { ...d, content: '', embeds: [], attachments: [], components: [] };
}
