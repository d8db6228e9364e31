// Interaction routes (no Authorization; the token is the credential): the callback, @original,
// and follow-ups, with Discord's state machine (one callback, 40060; unknown 10062; expired 50027).
import { ApiError, bodyObject, isRecord, noContent, ok, type ParsedBody, type RouteResult } from '../http.js';
import type { FakeInteraction } from '../interaction.js';
import {
  applyEdit,
  buildMessage,
  gatewayMessage,
  MessageFlag,
  SENDABLE_FLAGS,
  storeMessage,
  toApiMessage,
} from '../messages.js';
import { route, type Route } from '../router.js';
import type { StoredMessage } from '../types.js';
import type { World } from '../world.js';

const CALLBACK_TYPES = new Set([1, 4, 5, 6, 7, 8, 9, 10, 12]);
const invalidToken = (): ApiError => new ApiError(401, 50027, 'Invalid Webhook Token');

function byToken(world: World, appId: string, token: string): FakeInteraction {
  if (appId !== world.botUser.id) throw new ApiError(404, 10015, 'Unknown Webhook');
  const interaction = [...world.interactions.values()].find((i) => i.token === token);
  if (interaction === undefined || interaction.expired) throw invalidToken();
  return interaction;
}

function isEphemeral(m: StoredMessage): boolean {
  return (m.flags & MessageFlag.Ephemeral) !== 0;
}

function createResponse(
  world: World,
  i: FakeInteraction,
  parsed: ParsedBody,
  loading: boolean,
): StoredMessage {
  const message = buildMessage(world, parsed, {
    author: world.botUser,
    channel: world.channel(i.channelId),
    uploadLimit: i.attachmentSizeLimit,
    allowedFlags: SENDABLE_FLAGS | MessageFlag.Ephemeral,
    type: 20,
    loading,
    webhook: {
      applicationId: i.applicationId,
      interactionMetadata: {
        id: i.id,
        type: 2,
        name: i.commandName,
        user: i.user,
        authorizing_integration_owners: {},
      },
    },
  });
  // Ephemeral messages exist only for the person: no channel history, no gateway event.
  if (!isEphemeral(message)) storeMessage(world, message);
  return message;
}

function callback(
  world: World,
  id: string,
  token: string,
  parsed: ParsedBody,
  withResponse: boolean,
): RouteResult {
  const i = world.interactions.get(id);
  if (i === undefined || i.token !== token) throw new ApiError(404, 10062, 'Unknown interaction');
  if (i.expired) throw invalidToken();
  if (i.callbacks.length > 0) throw new ApiError(400, 40060, 'Interaction has already been acknowledged.');
  const body = bodyObject(parsed);
  const type = body.type;
  if (typeof type !== 'number' || !CALLBACK_TYPES.has(type)) {
    throw new ApiError(400, 50035, 'Invalid Form Body', {
      type: {
        _errors: [
          { code: 'BASE_TYPE_CHOICES', message: 'Value must be one of the interaction callback types.' },
        ],
      },
    });
  }
  const data = isRecord(body.data) ? body.data : undefined;
  if (type === 4)
    i.originalMessage = createResponse(world, i, { json: data ?? {}, files: parsed.files }, false);
  if (type === 5) {
    const flags = typeof data?.flags === 'number' ? data.flags & MessageFlag.Ephemeral : 0;
    i.originalMessage = createResponse(world, i, { json: { flags }, files: [] }, true);
  }
  i.callbacks.push({ type, data, at: Date.now() });
  if (!withResponse) return noContent();
  const m = i.originalMessage;
  return ok({
    interaction: {
      id: i.id,
      type: 2,
      ...(m === undefined
        ? {}
        : {
            response_message_id: m.id,
            response_message_loading: (m.flags & MessageFlag.Loading) !== 0,
            response_message_ephemeral: isEphemeral(m),
          }),
    },
    resource: { type, ...(m !== undefined && type === 4 ? { message: toApiMessage(world, m) } : {}) },
  });
}

function findMessage(i: FakeInteraction, messageId: string): StoredMessage {
  const m =
    messageId === '@original'
      ? i.originalMessage
      : (i.followups.find((f) => f.id === messageId) ??
        (i.originalMessage?.id === messageId ? i.originalMessage : undefined));
  if (m === undefined) throw new ApiError(404, 10008, 'Unknown Message');
  return m;
}

function edit(world: World, i: FakeInteraction, m: StoredMessage, parsed: ParsedBody): RouteResult {
  applyEdit(world, m, parsed, i.attachmentSizeLimit);
  if (m === i.originalMessage) {
    m.flags &= ~MessageFlag.Loading;
    i.originalEdited = true;
  }
  if (!isEphemeral(m)) world.dispatch('MESSAGE_UPDATE', gatewayMessage(world, m));
  return ok(toApiMessage(world, m));
}

function remove(world: World, i: FakeInteraction, m: StoredMessage): RouteResult {
  if (m === i.originalMessage) i.originalMessage = undefined;
  const at = i.followups.indexOf(m);
  if (at >= 0) i.followups.splice(at, 1);
  const list = world.messagesIn(m.channel_id);
  const idx = list.indexOf(m);
  if (idx >= 0) {
    list.splice(idx, 1);
    world.dispatch('MESSAGE_DELETE', {
      id: m.id,
      channel_id: m.channel_id,
      ...(m.guild_id === undefined ? {} : { guild_id: m.guild_id }),
    });
  }
  return noContent();
}

export const interactionRoutes: Route[] = [
  route('POST', /^\/interactions\/(\d+)\/([^/]+)\/callback$/, 'none', ({ world, params, body, query }) =>
    callback(world, params[0] ?? '', params[1] ?? '', body, query.get('with_response') === 'true'),
  ),
  route('POST', /^\/webhooks\/(\d+)\/([^/]+)$/, 'none', ({ world, params, body, query }) => {
    const i = byToken(world, params[0] ?? '', params[1] ?? '');
    // Discord has no webhook for the interaction until it has been acknowledged.
    if (i.callbacks.length === 0) throw new ApiError(404, 10015, 'Unknown Webhook');
    const m = createResponse(world, i, body, false);
    i.followups.push(m);
    return query.get('wait') === 'true' ? ok(toApiMessage(world, m)) : noContent();
  }),
  route('GET', /^\/webhooks\/(\d+)\/([^/]+)\/messages\/(@original|\d+)$/, 'none', ({ world, params }) => {
    const i = byToken(world, params[0] ?? '', params[1] ?? '');
    return ok(toApiMessage(world, findMessage(i, params[2] ?? '')));
  }),
  route(
    'PATCH',
    /^\/webhooks\/(\d+)\/([^/]+)\/messages\/(@original|\d+)$/,
    'none',
    ({ world, params, body }) => {
      const i = byToken(world, params[0] ?? '', params[1] ?? '');
      return edit(world, i, findMessage(i, params[2] ?? ''), body);
    },
  ),
  route('DELETE', /^\/webhooks\/(\d+)\/([^/]+)\/messages\/(@original|\d+)$/, 'none', ({ world, params }) => {
    const i = byToken(world, params[0] ?? '', params[1] ?? '');
    return remove(world, i, findMessage(i, params[2] ?? ''));
  }),
];
