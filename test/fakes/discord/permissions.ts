// The bot's permissions in a channel as Discord computes them for these simple guilds: @everyone's
// role, minus what the channel's @everyone overwrite denies (a thread inherits its parent's).
// REST routes check them and answer 403 like Discord; interactions carry them as app_permissions.
import { EVERYONE_PERMISSIONS, isThread } from './guild.js';
import { ApiError } from './http.js';
import type { FakeChannel } from './types.js';
import type { World } from './world.js';

export const Permission = {
  Administrator: 1n << 3n,
  ManageGuild: 1n << 5n,
  ViewChannel: 1n << 10n,
  SendMessages: 1n << 11n,
  AttachFiles: 1n << 15n,
  ReadMessageHistory: 1n << 16n,
  CreatePublicThreads: 1n << 35n,
  SendMessagesInThreads: 1n << 38n,
} as const;
export type PermissionName = keyof typeof Permission;

/** The channel whose overwrites apply: the parent for a thread. */
function overwritesOf(world: World, channel: FakeChannel): FakeChannel {
  if (isThread(channel) && channel.parent_id) return world.channels.get(channel.parent_id) ?? channel;
  return channel;
}

export function botPermissions(world: World, channel: FakeChannel): bigint {
  const source = overwritesOf(world, channel);
  const denied = (source.permission_overwrites ?? []).reduce((bits, o) => bits | BigInt(o.deny), 0n);
  return BigInt(EVERYONE_PERMISSIONS) & ~denied;
}

const missingAccess = (): ApiError => new ApiError(403, 50001, 'Missing Access');
const missingPermissions = (): ApiError => new ApiError(403, 50013, 'Missing Permissions');

/** Throws Discord's answer when the bot may not post here (DMs are not permission-checked). */
export function assertMaySend(world: World, channel: FakeChannel, withFiles: boolean): void {
  if (channel.guild_id === undefined) return;
  const has = botPermissions(world, channel);
  if ((has & Permission.ViewChannel) === 0n) throw missingAccess();
  const send = isThread(channel) ? Permission.SendMessagesInThreads : Permission.SendMessages;
  if ((has & send) === 0n) throw missingPermissions();
  if (withFiles && (has & Permission.AttachFiles) === 0n) throw missingPermissions();
  // An archived thread takes no messages from a bot without Manage Threads; a locked one stays so.
  if (channel.thread_metadata?.archived === true) throw new ApiError(400, 50083, 'Thread is archived');
}

export function assertMayRead(world: World, channel: FakeChannel): void {
  if (channel.guild_id === undefined) return;
  if ((botPermissions(world, channel) & Permission.ViewChannel) === 0n) throw missingAccess();
}

/** Adds `bits` to the channel's @everyone deny overwrite. */
export function denyOnChannel(world: World, channel: FakeChannel, bits: bigint): void {
  const overwrites = (channel.permission_overwrites ??= []);
  const guildId = channel.guild_id ?? world.guildId;
  const everyone = overwrites.find((o) => o.id === guildId);
  if (everyone === undefined) overwrites.push({ id: guildId, type: 0, allow: '0', deny: bits.toString() });
  else everyone.deny = (BigInt(everyone.deny) | bits).toString();
}
