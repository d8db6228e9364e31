// Builders for the guild-side API objects (channels, threads, members, roles, the GUILD_CREATE guild).
import type { FakeChannel, FakeRole, FakeUser, ThreadRecord } from './types.js';

const bit = (n: number): bigint => 1n << BigInt(n);

/** Everything a bot needs in a normal server: view, send, embed, attach, react, history, threads, commands. */
export const EVERYONE_PERMISSIONS = [0, 6, 10, 11, 14, 15, 16, 18, 26, 31, 35, 36, 38]
  .map(bit)
  .reduce((a, b) => a | b, 0n)
  .toString();

/** Denied on channels created with `allowThreads: false`, so discord.js's own permission math agrees with REST. */
const THREAD_PERMISSIONS = (bit(35) | bit(36)).toString();

export const ChannelType = {
  Text: 0,
  DM: 1,
  Announcement: 5,
  AnnouncementThread: 10,
  PublicThread: 11,
  PrivateThread: 12,
  Forum: 15,
  Media: 16,
} as const;

/** Channel flags the fake acts on. */
export const ChannelFlag = { RequireTag: 1 << 4 } as const;

export const isThread = (c: FakeChannel): boolean => c.type === 10 || c.type === 11 || c.type === 12;

/** Forum and media channels hold only posts (threads): no messages of their own. */
export const isThreadOnly = (c: FakeChannel): boolean =>
  c.type === ChannelType.Forum || c.type === ChannelType.Media;

/** What Discord adds to a forum or media channel object (a forum also has its layout). */
function threadOnlyFields(type: number, requiredTagId: string | undefined): Partial<FakeChannel> {
  return {
    // A forum that requires a tag has one to choose from.
    available_tags:
      requiredTagId === undefined
        ? []
        : [{ id: requiredTagId, name: 'showcase', moderated: false, emoji_id: null, emoji_name: null }],
    default_reaction_emoji: null,
    default_thread_rate_limit_per_user: 0,
    default_sort_order: null,
    ...(type === ChannelType.Forum ? { default_forum_layout: 0 } : {}),
  };
}

export function guildChannel(
  id: string,
  guildId: string,
  opts: {
    name: string;
    type: number;
    position: number;
    allowThreads: boolean;
    /** Forum and media channels only: every post must carry a tag (REQUIRE_TAG); this one is offered. */
    requiredTagId?: string;
  },
): FakeChannel {
  const threadOnly = opts.type === ChannelType.Forum || opts.type === ChannelType.Media;
  const requiredTagId = threadOnly ? opts.requiredTagId : undefined;
  return {
    id,
    type: opts.type,
    guild_id: guildId,
    name: opts.name,
    position: opts.position,
    parent_id: null,
    topic: null,
    permission_overwrites: opts.allowThreads
      ? []
      : [{ id: guildId, type: 0, allow: '0', deny: THREAD_PERMISSIONS }],
    rate_limit_per_user: 0,
    nsfw: false,
    last_message_id: null,
    flags: requiredTagId === undefined ? 0 : ChannelFlag.RequireTag,
    default_auto_archive_duration: 1440,
    ...(threadOnly ? threadOnlyFields(opts.type, requiredTagId) : {}),
  };
}

export function dmChannel(id: string, recipient: FakeUser): FakeChannel {
  return { id, type: ChannelType.DM, last_message_id: null, flags: 0, recipients: [recipient] };
}

export function threadChannel(
  id: string,
  parent: FakeChannel,
  opts: { name: string; type: number; ownerId: string; autoArchive: number },
): FakeChannel {
  const now = new Date().toISOString();
  return {
    id,
    type: opts.type,
    name: opts.name,
    ...(parent.guild_id === undefined ? {} : { guild_id: parent.guild_id }),
    parent_id: parent.id,
    owner_id: opts.ownerId,
    last_message_id: null,
    message_count: 0,
    member_count: 1,
    total_message_sent: 0,
    rate_limit_per_user: 0,
    flags: 0,
    thread_metadata: {
      archived: false,
      auto_archive_duration: opts.autoArchive,
      archive_timestamp: now,
      locked: false,
      create_timestamp: now,
    },
    member: { id, user_id: opts.ownerId, join_timestamp: now, flags: 0 },
  };
}

export function memberOf(user: FakeUser, joinedAt: string, roles: string[] = []): Record<string, unknown> {
  return {
    user,
    nick: null,
    avatar: null,
    roles,
    joined_at: joinedAt,
    deaf: false,
    mute: false,
    flags: 0,
    pending: false,
  };
}

export interface GuildSnapshot {
  id: string;
  name: string;
  ownerId: string;
  createdAt: string;
  users: FakeUser[];
  channels: FakeChannel[];
  threads: ThreadRecord[];
  /** Roles besides @everyone. */
  roles: FakeRole[];
  memberRoles: ReadonlyMap<string, string[]>;
}

/** A role object as the API sends it. */
export function roleObject(
  id: string,
  opts: { name: string; permissions: bigint | string; position: number },
): FakeRole {
  return {
    id,
    name: opts.name,
    color: 0,
    colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
    hoist: false,
    icon: null,
    unicode_emoji: null,
    position: opts.position,
    permissions: opts.permissions.toString(),
    managed: false,
    mentionable: false,
    flags: 0,
  };
}

/** The full guild sent in GUILD_CREATE (and, minus the gateway-only lists, from GET /guilds/{id}). */
export function guildPayload(g: GuildSnapshot): Record<string, unknown> {
  return {
    id: g.id,
    name: g.name,
    icon: null,
    splash: null,
    discovery_splash: null,
    banner: null,
    description: null,
    owner_id: g.ownerId,
    afk_channel_id: null,
    afk_timeout: 300,
    verification_level: 0,
    default_message_notifications: 1,
    explicit_content_filter: 0,
    mfa_level: 0,
    nsfw_level: 0,
    premium_tier: 0,
    premium_subscription_count: 0,
    preferred_locale: 'en-US',
    system_channel_id: g.channels[0]?.id ?? null,
    system_channel_flags: 0,
    rules_channel_id: null,
    public_updates_channel_id: null,
    max_members: 500000,
    features: [],
    roles: [
      roleObject(g.id, { name: '@everyone', permissions: EVERYONE_PERMISSIONS, position: 0 }),
      ...g.roles,
    ],
    emojis: [],
    stickers: [],
    joined_at: g.createdAt,
    large: false,
    unavailable: false,
    member_count: g.users.length,
    members: g.users.map((u) => memberOf(u, g.createdAt, g.memberRoles.get(u.id) ?? [])),
    channels: g.channels,
    threads: g.threads.map((t) => t.channel),
    presences: [],
    voice_states: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
  };
}
