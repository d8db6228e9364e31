// 🔁 on one of our result messages reruns that job for whoever reacted. Works for results
// posted before a restart too: the message id is looked up in the store (or the job id read
// back from the result's marker line), never in discord.js's cache.
import { Events, type Client } from 'discord.js';
import type { Delivery } from '../engine/delivery.js';
import type { Engine } from '../engine/engine.js';
import { gateRerun, type Reactor } from '../commands/gate.js';
import type { Logger } from '../logger.js';
import { failureMessage, type Failure } from '../failures.js';
import type { GuildSettingsStore } from '../store/guild-settings.js';
import { rerunPlace } from './rerun-place.js';
import { resultMarkerJobId } from './text.js';

export const RERUN_EMOJI = '🔁';
/** A member toggling the reaction off and on within this window does not start a second job. */
const REPEAT_WINDOW_MS = 30_000;

/** The fields of a MESSAGE_REACTION_ADD dispatch we read. */
interface ReactionAdd {
  user_id: string;
  message_id: string;
  channel_id?: string;
  guild_id?: string;
  emoji: { name: string | null };
  /** In a server: the reactor as a member, their roles included. */
  member?: { user?: { bot?: boolean }; roles?: string[] };
  message_author_id?: string;
}

function isReactionAdd(packet: {
  t?: unknown;
  d?: unknown;
}): packet is { t: 'MESSAGE_REACTION_ADD'; d: ReactionAdd } {
  const d = packet.d as Partial<ReactionAdd> | undefined;
  return (
    packet.t === 'MESSAGE_REACTION_ADD' && typeof d?.user_id === 'string' && typeof d.message_id === 'string'
  );
}

export interface ReactionDeps {
  engine: Engine;
  delivery: Delivery;
  /** Each server's rules: a rerun passes the same gate as /animate. */
  settings: GuildSettingsStore;
  log: Logger;
  /** True once the bot is shutting down: a 🔁 then starts nothing and the reactor is told. */
  stopping?: () => boolean;
}

export function routeReactions(client: Client, deps: ReactionDeps): void {
  const recent = new Map<string, number>();
  // The raw dispatch, not messageReactionAdd: discord.js drops reactions whose channel it has not
  // cached (a result thread after a restart, a DM), partials or not. The message id is all we need.
  client.on(Events.Raw, (packet: { t?: unknown; d?: unknown }) => {
    if (!isReactionAdd(packet)) return;
    const r = packet.d;
    if (r.emoji.name !== RERUN_EMOJI || r.member?.user?.bot || r.user_id === client.user?.id) return;
    // Only our own messages can be results (Discord says whose message it is in guilds).
    if (r.message_author_id !== undefined && r.message_author_id !== client.user?.id) return;
    const key = `${r.user_id}:${r.message_id}`;
    const now = Date.now();
    if ((recent.get(key) ?? 0) > now - REPEAT_WINDOW_MS) return;
    recent.set(key, now);
    for (const [k, at] of recent) if (at <= now - REPEAT_WINDOW_MS) recent.delete(k);
    if (deps.stopping?.()) {
      deps.log.info({ messageId: r.message_id, userId: r.user_id }, 'rerun refused: restarting');
      void deps.delivery.tellPrivately(r.user_id, failureMessage({ code: 'restarting' }));
      return;
    }
    const reactor: Reactor = { userId: r.user_id, guildId: r.guild_id, roleIds: r.member?.roles };
    void rerun(client, r.message_id, r.channel_id, reactor, deps).catch((error: unknown) =>
      deps.log.error({ err: error, messageId: r.message_id, userId: r.user_id }, 'rerun failed'),
    );
  });
}

/**
 * The job a message is the result of: from the store, or — for a result posted just before a
 * crash or a moment ago, not yet linked — from the marker line in our own message.
 */
async function originalJob(client: Client, engine: Engine, messageId: string, channelId: string | undefined) {
  const linked = await engine.jobForResult(messageId);
  if (linked || channelId === undefined) return linked;
  const channel = await client.channels.fetch(channelId);
  if (!channel?.isTextBased()) return undefined;
  const message = await channel.messages.fetch(messageId);
  if (message.author.id !== client.user?.id) return undefined;
  const jobId = resultMarkerJobId(message.content);
  return jobId === undefined ? undefined : engine.job(jobId);
}

async function rerun(
  client: Client,
  messageId: string,
  channelId: string | undefined,
  reactor: Reactor,
  { engine, delivery, settings, log }: ReactionDeps,
): Promise<void> {
  const userId = reactor.userId;
  const original = await originalJob(client, engine, messageId, channelId);
  if (!original) return;
  // The server's own rules first: nothing is fetched, quoted or charged for a refused reactor.
  const refused = await gateRerun(client, settings, reactor, original);
  const result: { ok: true } | { ok: false; failure: Failure } = refused
    ? { ok: false, failure: refused }
    : await engine.rerun(
        {
          userId,
          guildId: original.guildId,
          channelId: rerunPlace(original, channelId),
          attachmentSizeLimit: original.discord.attachmentSizeLimit,
        },
        original,
      );
  if (result.ok) return;
  const text = failureMessage(result.failure);
  log.info({ userId, messageId, code: result.failure.code }, 'rerun refused');
  if (await delivery.tellPrivately(userId, text)) return;
  // A reaction has no interaction to answer ephemerally: with DMs closed, say it where they
  // reacted, pinging only them.
  if (channelId === undefined) return;
  const channel = await client.channels.fetch(channelId).catch(() => null);
  if (!channel?.isSendable()) return;
  await channel
    .send({ content: `<@${userId}> ${text}`, allowedMentions: { parse: [], users: [userId] } })
    .catch((error: unknown) => log.warn({ err: error, userId }, 'could not tell the reactor either'));
}
