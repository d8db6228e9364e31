// Creating, editing and serialising messages; shared by the channel routes (bot token) and the
// interaction webhook routes, so both validate and store the same way.
import { publishAttachment } from './cdn.js';
import { ApiError, bodyObject, isRecord, type ParsedBody } from './http.js';
import type { FakeChannel, FakeUser, RecordedFile, StoredAttachment, StoredMessage } from './types.js';
import { formError, validateUploads } from './validation.js';
import type { World } from './world.js';

export const MessageFlag = { SuppressEmbeds: 4, HasThread: 32, Ephemeral: 64, Loading: 128 } as const;
/** Flags a sender may set: SUPPRESS_EMBEDS, SUPPRESS_NOTIFICATIONS, IS_VOICE_MESSAGE, IS_COMPONENTS_V2. */
export const SENDABLE_FLAGS = 4 | 4096 | 8192 | 32768;

const EXTENSION_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  mp4: 'video/mp4',
  webm: 'video/webm',
  mov: 'video/quicktime',
  txt: 'text/plain; charset=utf-8',
  json: 'application/json; charset=utf-8',
  pdf: 'application/pdf',
};

export interface MessageMeta {
  author: FakeUser;
  channel: FakeChannel;
  uploadLimit: number;
  allowedFlags: number;
  id?: string;
  type?: number;
  /** A deferred response: created empty with the LOADING flag. */
  loading?: boolean;
  webhook?: { applicationId: string; interactionMetadata: Record<string, unknown> };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function uploads(
  world: World,
  body: Record<string, unknown>,
  files: RecordedFile[],
  channelId: string,
): StoredAttachment[] {
  const infos = Array.isArray(body.attachments) ? body.attachments.filter(isRecord) : [];
  return files.map((file, i) => {
    const index = /^files\[(\d+)\]$/.exec(file.field)?.[1] ?? String(i);
    const info = infos.find((a) => String(a.id) === index);
    const filename = str(info?.filename) ?? file.name;
    // Discord types uploads by extension, not by the multipart part's (sniffed) type.
    const ext = filename.split('.').pop()?.toLowerCase() ?? '';
    return publishAttachment(world, {
      channelId,
      filename,
      bytes: file.bytes,
      contentType: EXTENSION_TYPES[ext] ?? (file.contentType || undefined),
      description: str(info?.description),
    });
  });
}

function assertNotEmpty(m: StoredMessage, body: Record<string, unknown>): void {
  const empty =
    m.content === '' && m.embeds.length === 0 && m.attachments.length === 0 && m.components.length === 0;
  if (empty && body.sticker_ids === undefined && body.poll === undefined) {
    throw new ApiError(400, 50006, 'Cannot send an empty message');
  }
}

function checkReference(world: World, channelId: string, ref: unknown): boolean {
  if (!isRecord(ref) || typeof ref.message_id !== 'string') return false;
  if (ref.type !== undefined && ref.type !== 0) return false;
  const inChannel = str(ref.channel_id) ?? channelId;
  const exists = world.messagesIn(inChannel).some((m) => m.id === ref.message_id);
  if (!exists && ref.fail_if_not_exists !== false) {
    throw formError(['message_reference'], 'MESSAGE_REFERENCE_UNKNOWN_MESSAGE', 'Unknown message');
  }
  return true;
}

const embedsOf = (body: Record<string, unknown>): Record<string, unknown>[] =>
  Array.isArray(body.embeds) ? body.embeds.filter(isRecord) : [];

/**
 * Builds the message from a create body (JSON or multipart) that has passed the form checks
 * (validation.ts, before any route runs); checks uploads and the reply target. Nothing is stored yet.
 */
export function buildMessage(world: World, parsed: ParsedBody, meta: MessageMeta): StoredMessage {
  const body = bodyObject(parsed);
  const embeds = embedsOf(body);
  validateUploads(parsed.files, meta.uploadLimit);
  const isReply = checkReference(world, meta.channel.id, body.message_reference);
  const sent = typeof body.flags === 'number' ? body.flags & meta.allowedFlags : 0;
  const flags = meta.loading === true ? sent | MessageFlag.Loading : sent;
  const message: StoredMessage = {
    id: meta.id ?? world.nextId(),
    channel_id: meta.channel.id,
    ...(meta.channel.guild_id === undefined ? {} : { guild_id: meta.channel.guild_id }),
    type: meta.type ?? (isReply ? 19 : 0),
    author: meta.author,
    content: str(body.content) ?? '',
    embeds,
    components: Array.isArray(body.components) ? body.components : [],
    flags,
    ...(body.allowed_mentions === undefined ? {} : { allowed_mentions: body.allowed_mentions }),
    ...(typeof body.nonce === 'string' || typeof body.nonce === 'number' ? { nonce: body.nonce } : {}),
    ...(body.message_reference === undefined ? {} : { message_reference: body.message_reference }),
    attachments: uploads(world, body, parsed.files, meta.channel.id),
    reactions: [],
    tts: body.tts === true,
    timestamp: new Date().toISOString(),
    edited_timestamp: null,
    ...(meta.webhook === undefined
      ? {}
      : {
          webhook_id: meta.webhook.applicationId,
          application_id: meta.webhook.applicationId,
          interaction_metadata: meta.webhook.interactionMetadata,
        }),
    createdAt: Date.now(),
  };
  if ((flags & MessageFlag.Loading) === 0) assertNotEmpty(message, body);
  return message;
}

/** Applies a (validated) PATCH body: only the fields present change; `attachments` lists the ones to keep. */
export function applyEdit(
  world: World,
  message: StoredMessage,
  parsed: ParsedBody,
  uploadLimit: number,
): void {
  const body = bodyObject(parsed);
  const embeds = 'embeds' in body ? embedsOf(body) : message.embeds;
  validateUploads(parsed.files, uploadLimit);
  const added = uploads(world, body, parsed.files, message.channel_id);
  const keepIds = Array.isArray(body.attachments)
    ? new Set(body.attachments.filter(isRecord).map((a) => String(a.id)))
    : undefined;
  const keep =
    keepIds === undefined ? message.attachments : message.attachments.filter((a) => keepIds.has(a.id));
  const next: StoredMessage = {
    ...message,
    content: 'content' in body ? (str(body.content) ?? '') : message.content,
    embeds,
    components:
      'components' in body ? (Array.isArray(body.components) ? body.components : []) : message.components,
    attachments: [...keep, ...added],
    flags:
      typeof body.flags === 'number'
        ? (message.flags & ~MessageFlag.SuppressEmbeds) | (body.flags & MessageFlag.SuppressEmbeds)
        : message.flags,
    ...('allowed_mentions' in body ? { allowed_mentions: body.allowed_mentions } : {}),
    edited_timestamp: new Date().toISOString(),
  };
  if ((next.flags & MessageFlag.Loading) === 0) assertNotEmpty(next, body);
  Object.assign(message, next);
}

/** The message as the API returns it (no bytes, no send-only fields). */
export function toApiMessage(world: World, m: StoredMessage): Record<string, unknown> {
  const { createdAt: _c, allowed_mentions: _a, thread_id, attachments, reactions, ...rest } = m;
  const thread = thread_id === undefined ? undefined : world.channels.get(thread_id);
  return {
    ...rest,
    flags: thread === undefined ? m.flags : m.flags | MessageFlag.HasThread,
    attachments: attachments.map(({ bytes: _b, ...a }) => a),
    mentions: [],
    mention_roles: [],
    mention_everyone: false,
    pinned: false,
    ...(reactions.length === 0
      ? {}
      : {
          reactions: reactions.map((r) => ({
            emoji: r.emoji,
            count: r.userIds.length,
            count_details: { burst: 0, normal: r.userIds.length },
            me: r.userIds.includes(world.botUser.id),
            me_burst: false,
            burst_colors: [],
          })),
        }),
    ...(thread === undefined ? {} : { thread }),
  };
}

/** The gateway form: API message plus `member` for guild messages from people and bots. */
export function gatewayMessage(world: World, m: StoredMessage): Record<string, unknown> {
  const api = toApiMessage(world, m);
  if (m.guild_id === undefined || m.webhook_id !== undefined) return api;
  const { user: _u, ...member } = world.member(m.author);
  return { ...api, member };
}

export function storeMessage(world: World, m: StoredMessage): void {
  world.messagesIn(m.channel_id).push(m);
  const channel = world.channels.get(m.channel_id);
  if (channel !== undefined) {
    channel.last_message_id = m.id;
    if (channel.message_count !== undefined) channel.message_count += 1;
    if (channel.total_message_sent !== undefined) channel.total_message_sent += 1;
  }
  world.dispatch('MESSAGE_CREATE', gatewayMessage(world, m));
}

/** With `enforce_nonce`, Discord returns the earlier message for a repeated nonce (10-minute window). */
export function findByNonce(
  world: World,
  channelId: string,
  authorId: string,
  nonce: unknown,
): StoredMessage | undefined {
  if (typeof nonce !== 'string' && typeof nonce !== 'number') return undefined;
  const since = Date.now() - 10 * 60 * 1000;
  return world
    .messagesIn(channelId)
    .find((m) => m.author.id === authorId && m.nonce === nonce && m.createdAt >= since);
}
