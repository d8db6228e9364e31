// 🔁 on one of our result messages reruns that job for whoever reacted. Works for results
// posted before a restart too: the message id is looked up in the store, not in any cache.
import { Events, type Client, type Message, type PartialMessage } from 'discord.js';
import type { Delivery } from '../engine/delivery.js';
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../logger.js';
import { resultMarkerJobId } from './text.js';

export const RERUN_EMOJI = '🔁';
/** A member toggling the reaction off and on within this window does not start a second job. */
const REPEAT_WINDOW_MS = 30_000;

export function routeReactions(
  client: Client,
  deps: { engine: Engine; delivery: Delivery; log: Logger },
): void {
  const recent = new Map<string, number>();
  client.on(Events.MessageReactionAdd, (reaction, user) => {
    if (user.bot || reaction.emoji.name !== RERUN_EMOJI) return;
    const key = `${user.id}:${reaction.message.id}`;
    const now = Date.now();
    if ((recent.get(key) ?? 0) > now - REPEAT_WINDOW_MS) return;
    recent.set(key, now);
    for (const [k, at] of recent) if (at <= now - REPEAT_WINDOW_MS) recent.delete(k);
    void rerun(reaction.message, user.id, deps).catch((error: unknown) =>
      deps.log.error({ err: error, messageId: reaction.message.id, userId: user.id }, 'rerun failed'),
    );
  });
}

/**
 * The job a message is the result of: from the store, or — for a result posted just before a
 * crash or a moment ago, not yet linked — from the marker line in our own message.
 */
async function originalJob(engine: Engine, message: Message | PartialMessage) {
  const linked = await engine.jobForResult(message.id);
  if (linked) return linked;
  if (message.author && !message.author.bot) return undefined;
  const full = message.partial ? await message.fetch() : message;
  if (full.author.id !== full.client.user.id) return undefined;
  const jobId = resultMarkerJobId(full.content);
  return jobId === undefined ? undefined : engine.job(jobId);
}

async function rerun(
  message: Message | PartialMessage,
  userId: string,
  { engine, delivery, log }: { engine: Engine; delivery: Delivery; log: Logger },
): Promise<void> {
  const messageId = message.id;
  const original = await originalJob(engine, message);
  if (!original) return;
  const result = await engine.accept({
    userId,
    guildId: original.guildId,
    channelId: original.discord.threadId ?? original.channelId,
    attachmentSizeLimit: original.discord.attachmentSizeLimit,
    request: original.request,
    rerunOf: original.id,
  });
  if (result.ok) return;
  const text =
    result.code === 'insufficient_credits'
      ? `A rerun costs ${result.price} credits and you have ${result.balance}, so nothing was started or charged.`
      : `${original.request.model} is not available on this bot right now, so the rerun was not started. Nothing was charged.`;
  log.info({ userId, messageId, code: result.code }, 'rerun refused');
  await delivery.tellPrivately(userId, text);
}
