// Reactions: the MESSAGE_REACTION_ADD/REMOVE payloads and the bot's own PUT/DELETE .../@me routes.
import { ApiError, noContent } from '../http.js';
import { route, type Route } from '../router.js';
import type { FakeUser, ReactionEmoji, StoredMessage } from '../types.js';
import type { World } from '../world.js';

/** `✅` → unicode emoji; `name:id` (or `<:name:id>`) → custom emoji. Plain words are not emoji. */
export function parseEmoji(raw: string): ReactionEmoji {
  const custom = /^(?:<a?:|a?:)?(\w+):(\d+)>?$/.exec(raw);
  if (custom !== null) return { id: custom[2] ?? null, name: custom[1] ?? '' };
  if (raw === '' || /^[\x20-\x7e]+$/.test(raw)) throw new ApiError(400, 10014, 'Unknown Emoji');
  return { id: null, name: raw };
}

const sameEmoji = (a: ReactionEmoji, b: ReactionEmoji): boolean => (a.id ?? a.name) === (b.id ?? b.name);

export function reactionPayload(
  world: World,
  user: FakeUser,
  m: StoredMessage,
  emoji: ReactionEmoji,
): Record<string, unknown> {
  return {
    user_id: user.id,
    channel_id: m.channel_id,
    message_id: m.id,
    ...(m.guild_id === undefined ? {} : { guild_id: m.guild_id, member: world.member(user) }),
    emoji,
    burst: false,
    burst_colors: [],
    type: 0,
    message_author_id: m.author.id,
  };
}

/** Records the reaction and dispatches MESSAGE_REACTION_ADD; a repeat reaction is a no-op, as on Discord. */
export function addReaction(world: World, user: FakeUser, m: StoredMessage, emoji: ReactionEmoji): void {
  let reaction = m.reactions.find((r) => sameEmoji(r.emoji, emoji));
  if (reaction === undefined) {
    reaction = { emoji, userIds: [] };
    m.reactions.push(reaction);
  }
  if (reaction.userIds.includes(user.id)) return;
  reaction.userIds.push(user.id);
  world.dispatch('MESSAGE_REACTION_ADD', reactionPayload(world, user, m, emoji));
}

function removeReaction(world: World, user: FakeUser, m: StoredMessage, emoji: ReactionEmoji): void {
  const reaction = m.reactions.find((r) => sameEmoji(r.emoji, emoji));
  if (reaction === undefined || !reaction.userIds.includes(user.id)) return;
  reaction.userIds = reaction.userIds.filter((id) => id !== user.id);
  if (reaction.userIds.length === 0) m.reactions.splice(m.reactions.indexOf(reaction), 1);
  const { member: _m, message_author_id: _a, ...payload } = reactionPayload(world, user, m, emoji);
  world.dispatch('MESSAGE_REACTION_REMOVE', payload);
}

const OWN_REACTION = /^\/channels\/(\d+)\/messages\/(\d+)\/reactions\/([^/]+)\/@me$/;

export const reactionRoutes: Route[] = [
  route('PUT', OWN_REACTION, 'bot', ({ world, params }) => {
    const channel = world.channel(params[0] ?? '');
    addReaction(
      world,
      world.botUser,
      world.message(channel.id, params[1] ?? ''),
      parseEmoji(params[2] ?? ''),
    );
    return noContent();
  }),
  route('DELETE', OWN_REACTION, 'bot', ({ world, params }) => {
    const channel = world.channel(params[0] ?? '');
    removeReaction(
      world,
      world.botUser,
      world.message(channel.id, params[1] ?? ''),
      parseEmoji(params[2] ?? ''),
    );
    return noContent();
  }),
];
