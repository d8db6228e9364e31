// Thread routes: start a thread from a message (thread id = message id, one per message) or
// without one; in a forum or media channel that route makes a post, which carries its starter
// message (same id as the post). THREAD_CREATE is dispatched either way.
import { ChannelFlag, ChannelType, isThread, isThreadOnly, threadChannel } from '../guild.js';
import { ApiError, bodyObject, isRecord, ok } from '../http.js';
import { buildMessage, SENDABLE_FLAGS, storeMessage, toApiMessage } from '../messages.js';
import { botPermissions, Permission } from '../permissions.js';
import { route, type Route } from '../router.js';
import type { FakeChannel } from '../types.js';
import { formError } from '../validation.js';
import type { World } from '../world.js';

const missingPermissions = (): ApiError => new ApiError(403, 50013, 'Missing Permissions');

/** A thread in a text or announcement channel: Create Public Threads (the fake's threads are public). */
function assertThreadable(world: World, channel: FakeChannel): void {
  if (channel.type === ChannelType.DM || isThread(channel)) {
    throw new ApiError(400, 50024, 'Cannot execute action on this channel type');
  }
  if (world.noThreads.has(channel.id)) throw missingPermissions();
  if ((botPermissions(world, channel) & Permission.CreatePublicThreads) === 0n) throw missingPermissions();
}

/**
 * A post in a forum or media channel: Send Messages (shown there as Create Posts), Attach Files
 * for files on the starter message, and a tag when the channel requires one.
 */
function assertMayPost(world: World, forum: FakeChannel, json: Record<string, unknown>, files: number): void {
  const has = botPermissions(world, forum);
  if ((has & Permission.ViewChannel) === 0n) throw new ApiError(403, 50001, 'Missing Access');
  if ((has & Permission.SendMessages) === 0n) throw missingPermissions();
  if (files > 0 && (has & Permission.AttachFiles) === 0n) throw missingPermissions();
  const tags = Array.isArray(json.applied_tags) ? json.applied_tags : [];
  if ((forum.flags & ChannelFlag.RequireTag) !== 0 && tags.length === 0) {
    throw new ApiError(400, 40067, 'A tag is required to create a forum post in this channel');
  }
}

interface ThreadSpec {
  id: string;
  name: string;
  type: number;
  autoArchive: number;
  starterMessageId: string | null;
  /** Who started it; the bot unless a test says otherwise. */
  ownerId?: string;
  /** A forum or media post's tags. */
  appliedTags?: string[];
}

export function createThread(world: World, parent: FakeChannel, spec: ThreadSpec): FakeChannel {
  const channel = threadChannel(spec.id, parent, {
    name: spec.name,
    type: spec.type,
    ownerId: spec.ownerId ?? world.botUser.id,
    autoArchive: spec.autoArchive,
  });
  if (spec.appliedTags !== undefined) channel.applied_tags = spec.appliedTags;
  world.channels.set(channel.id, channel);
  world.threads.push({
    id: channel.id,
    parentId: parent.id,
    starterMessageId: spec.starterMessageId,
    name: spec.name,
    type: spec.type,
    ownerId: spec.ownerId ?? world.botUser.id,
    channel,
  });
  world.dispatch('THREAD_CREATE', { ...channel, newly_created: true });
  return channel;
}

/** Name and archive duration from a body the spec has checked (name 1–100, duration one of four). */
function readSpec(body: Record<string, unknown>): { name: string; autoArchive: number } {
  const autoArchive = typeof body.auto_archive_duration === 'number' ? body.auto_archive_duration : 1440;
  return { name: String(body.name), autoArchive };
}

export const threadRoutes: Route[] = [
  route('POST', /^\/channels\/(\d+)\/messages\/(\d+)\/threads$/, 'bot', ({ world, params, body }) => {
    const parent = world.channel(params[0] ?? '');
    if (isThreadOnly(parent)) throw new ApiError(400, 50024, 'Cannot execute action on this channel type');
    assertThreadable(world, parent);
    const message = world.message(parent.id, params[1] ?? '');
    const spec = readSpec(bodyObject(body));
    if (message.thread_id !== undefined || world.channels.has(message.id)) {
      throw new ApiError(400, 160004, 'A thread has already been created for this message');
    }
    const type =
      parent.type === ChannelType.Announcement ? ChannelType.AnnouncementThread : ChannelType.PublicThread;
    const thread = createThread(world, parent, {
      ...spec,
      id: message.id,
      type,
      starterMessageId: message.id,
    });
    message.thread_id = thread.id;
    return ok(thread, 201);
  }),
  route('POST', /^\/channels\/(\d+)\/threads$/, 'bot', ({ world, params, body }) => {
    const parent = world.channel(params[0] ?? '');
    const json = bodyObject(body);
    const spec = readSpec(json);
    if (!isThreadOnly(parent)) {
      assertThreadable(world, parent);
      const announcement = parent.type === ChannelType.Announcement;
      const requested = typeof json.type === 'number' ? json.type : ChannelType.PrivateThread;
      const type = announcement ? ChannelType.AnnouncementThread : requested;
      if (!announcement && type !== ChannelType.PublicThread && type !== ChannelType.PrivateThread) {
        throw formError(['type'], 'BASE_TYPE_CHOICES', 'Value must be one of {11, 12}.');
      }
      return ok(
        createThread(world, parent, { ...spec, id: world.nextId(), type, starterMessageId: null }),
        201,
      );
    }
    // A forum or media post: the thread and its starter message share an id.
    if (!isRecord(json.message)) throw formError(['message'], 'BASE_TYPE_REQUIRED', 'This field is required');
    assertMayPost(world, parent, json, body.files.length);
    const id = world.nextId();
    const draft = threadChannel(id, parent, {
      name: spec.name,
      type: ChannelType.PublicThread,
      ownerId: world.botUser.id,
      autoArchive: spec.autoArchive,
    });
    const starter = buildMessage(
      world,
      { json: json.message, files: body.files },
      {
        id,
        author: world.botUser,
        channel: draft,
        uploadLimit: world.uploadLimitBytes,
        allowedFlags: SENDABLE_FLAGS,
      },
    );
    const thread = createThread(world, parent, {
      ...spec,
      id,
      type: ChannelType.PublicThread,
      starterMessageId: id,
      appliedTags: Array.isArray(json.applied_tags) ? json.applied_tags.map(String) : [],
    });
    storeMessage(world, starter);
    return ok({ ...thread, message: toApiMessage(world, starter) }, 201);
  }),
];
