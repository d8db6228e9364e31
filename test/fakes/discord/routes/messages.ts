// Channel message routes with the bot token: send (JSON or multipart, nonce dedupe), list, fetch,
// edit and delete; every change is dispatched like Discord does (MESSAGE_CREATE/UPDATE/DELETE).
import { isThreadOnly } from '../guild.js';
import { ApiError, bodyObject, noContent, ok } from '../http.js';
import {
  applyEdit,
  buildMessage,
  findByNonce,
  gatewayMessage,
  SENDABLE_FLAGS,
  storeMessage,
  toApiMessage,
} from '../messages.js';
import { assertMayRead, assertMaySend } from '../permissions.js';
import { route, type Route } from '../router.js';
import { compareSnowflakes } from '../snowflake.js';
import type { FakeChannel, StoredMessage } from '../types.js';
import { formError } from '../validation.js';
import type { World } from '../world.js';

const MESSAGES = /^\/channels\/(\d+)\/messages$/;
const MESSAGE = /^\/channels\/(\d+)\/messages\/(\d+)$/;

function assertCanSend(world: World, channel: FakeChannel, withFiles: boolean): void {
  // A forum or media channel holds posts only: a post is made with POST /channels/{id}/threads.
  if (isThreadOnly(channel)) throw new ApiError(400, 50008, 'Cannot send messages in a non-text channel');
  assertMaySend(world, channel, withFiles);
  const recipient = channel.recipients?.[0];
  if (recipient !== undefined && world.blockedDms.has(recipient.id)) {
    throw new ApiError(403, 50007, 'Cannot send messages to this user');
  }
}

function parseLimit(raw: string | null): number {
  if (raw === null) return 50;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    throw formError(['limit'], 'NUMBER_TYPE_MAX', 'int value should be between 1 and 100.');
  }
  return limit;
}

/** Newest first, as Discord returns them; `after` takes the oldest ones after the id. */
function page(all: StoredMessage[], query: URLSearchParams): StoredMessage[] {
  const limit = parseLimit(query.get('limit'));
  const ascending = [...all].sort((a, b) => compareSnowflakes(a.id, b.id));
  const before = query.get('before');
  const after = query.get('after');
  if (after !== null)
    return ascending
      .filter((m) => compareSnowflakes(m.id, after) > 0)
      .slice(0, limit)
      .reverse();
  const older = before === null ? ascending : ascending.filter((m) => compareSnowflakes(m.id, before) < 0);
  return older.slice(-limit).reverse();
}

export const messageRoutes: Route[] = [
  route('POST', MESSAGES, 'bot', ({ world, params, body }) => {
    const channel = world.channel(params[0] ?? '');
    assertCanSend(world, channel, body.files.length > 0);
    const json = bodyObject(body);
    if (json.enforce_nonce === true) {
      const earlier = findByNonce(world, channel.id, world.botUser.id, json.nonce);
      if (earlier !== undefined) return ok(toApiMessage(world, earlier));
    }
    const message = buildMessage(world, body, {
      author: world.botUser,
      channel,
      uploadLimit: world.uploadLimitBytes,
      allowedFlags: SENDABLE_FLAGS,
    });
    storeMessage(world, message);
    return ok(toApiMessage(world, message));
  }),
  route('GET', MESSAGES, 'bot', ({ world, params, query }) => {
    const channel = world.channel(params[0] ?? '');
    assertMayRead(world, channel);
    return ok(page(world.messagesIn(channel.id), query).map((m) => toApiMessage(world, m)));
  }),
  route('GET', MESSAGE, 'bot', ({ world, params }) => {
    const channel = world.channel(params[0] ?? '');
    return ok(toApiMessage(world, world.message(channel.id, params[1] ?? '')));
  }),
  route('PATCH', MESSAGE, 'bot', ({ world, params, body }) => {
    const channel = world.channel(params[0] ?? '');
    const message = world.message(channel.id, params[1] ?? '');
    if (message.author.id !== world.botUser.id) {
      throw new ApiError(403, 50005, 'Cannot edit a message authored by another user');
    }
    applyEdit(world, message, body, world.uploadLimitBytes);
    world.dispatch('MESSAGE_UPDATE', gatewayMessage(world, message));
    return ok(toApiMessage(world, message));
  }),
  route('DELETE', MESSAGE, 'bot', ({ world, params }) => {
    const channel = world.channel(params[0] ?? '');
    const message = world.message(channel.id, params[1] ?? '');
    const list = world.messagesIn(channel.id);
    list.splice(list.indexOf(message), 1);
    world.dispatch('MESSAGE_DELETE', {
      id: message.id,
      channel_id: channel.id,
      ...(channel.guild_id === undefined ? {} : { guild_id: channel.guild_id }),
    });
    return noContent();
  }),
];
