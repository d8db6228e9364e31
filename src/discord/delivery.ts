// Delivery over the bot token: the status message and its thread, progress edits, the result
// post and failure notices. Never the interaction token, which dies after 15 minutes.
import {
  DiscordAPIError,
  DiscordjsError,
  DiscordjsErrorCodes,
  HTTPError,
  RESTJSONErrorCodes,
  type Client,
  type SendableChannels,
} from 'discord.js';
import type { Delivery } from '../engine/delivery.js';
import type { Logger } from '../logger.js';
import type { JobRecord } from '../store/jobs.js';
import { RERUN_EMOJI } from './reactions.js';
import { failureText, marker, resultText, statusText, threadName } from './text.js';

/** Discord's answers to a file over the limit: 40005 / 50045 (documented), or a bare 413. */
function isTooLarge(error: unknown): boolean {
  if (error instanceof DiscordAPIError) {
    return (
      error.status === 413 || [RESTJSONErrorCodes.RequestEntityTooLarge, 50045].includes(Number(error.code))
    );
  }
  return error instanceof HTTPError && error.status === 413;
}

/** "A thread has already been created for this message", from Discord or from discord.js. */
function threadExists(error: unknown): boolean {
  if (error instanceof DiscordAPIError) return Number(error.code) === 160004;
  return error instanceof DiscordjsError && error.code === DiscordjsErrorCodes.MessageExistingThread;
}

/** Message nonces are at most 25 characters; job ids are 14. */
const nonce = (kind: 's' | 'r' | 'f', job: JobRecord) => `${kind}${job.id}`;

export function createDelivery(client: Client, log: Logger): Delivery {
  async function sendable(channelId: string): Promise<SendableChannels> {
    const channel = await client.channels.fetch(channelId);
    if (!channel?.isSendable()) throw new Error(`channel ${channelId} cannot take messages`);
    return channel;
  }

  const mentionRequester = (job: JobRecord) => ({ users: [job.userId], repliedUser: false });

  return {
    async openStatus(job) {
      const channel = await sendable(job.channelId);
      const message = await channel.send({
        content: statusText(job),
        // The member asked for this a moment ago: name them, but do not ping.
        allowedMentions: { parse: [] },
        nonce: nonce('s', job),
        enforceNonce: true,
      });
      let threadId = channel.id;
      if (message.hasThread) {
        // The nonce gave back a status message posted before a restart, thread and all; a thread
        // started from a message has that message's id.
        threadId = message.id;
      } else if (!channel.isThread() && !channel.isDMBased() && 'threads' in channel) {
        try {
          const thread = await message.startThread({
            name: threadName(job.request.prompt),
            autoArchiveDuration: 1440,
          });
          threadId = thread.id;
        } catch (error) {
          if (threadExists(error)) {
            // As above, when Discord (not discord.js) is the one to say the thread exists.
            threadId = message.id;
          } else {
            log.warn(
              { err: error, jobId: job.id, channelId: channel.id },
              'could not start a thread; using the channel',
            );
          }
        }
      }
      return { statusChannelId: channel.id, statusMessageId: message.id, threadId };
    },

    async showStatus(job, progress) {
      const { statusChannelId, statusMessageId } = job.discord;
      if (!statusChannelId || !statusMessageId) return;
      const channel = await sendable(statusChannelId);
      await channel.messages.edit(statusMessageId, {
        content: statusText(job, progress),
        allowedMentions: { parse: [] },
      });
    },

    async postResult(job, video) {
      const channel = await sendable(job.discord.threadId ?? job.channelId);
      const base = {
        allowedMentions: mentionRequester(job),
        nonce: nonce('r', job),
        enforceNonce: true,
      } as const;
      let message;
      if (video.bytes) {
        const name = `${video.spoiler ? 'SPOILER_' : ''}animate-${job.id}.mp4`;
        try {
          message = await channel.send({
            ...base,
            content: resultText(job, { spoiler: video.spoiler }),
            files: [{ attachment: Buffer.from(video.bytes), name }],
          });
        } catch (error) {
          // Our size check and Discord's can disagree (boosts change); fall back to the link.
          if (!isTooLarge(error)) throw error;
          log.warn({ jobId: job.id }, 'upload refused as too large; posting the link');
        }
      }
      message ??= await channel.send({
        ...base,
        content: resultText(job, { spoiler: video.spoiler, url: video.url }),
      });
      return { messageId: message.id };
    },

    async isAgeRestricted(job) {
      const channel = await client.channels.fetch(job.discord.threadId ?? job.channelId);
      if (!channel || channel.isDMBased()) return false;
      if (channel.isThread()) return channel.parent?.nsfw ?? false;
      return 'nsfw' in channel ? channel.nsfw : false;
    },

    async findPost(job, kind) {
      const channel = await sendable(job.discord.threadId ?? job.channelId);
      const recent = await channel.messages.fetch({ limit: 50 });
      const mine = marker(job.id, kind);
      return recent.find((m) => m.author.id === client.user?.id && m.content.includes(mine))?.id;
    },

    async offerRerun(job, messageId) {
      try {
        const channel = await sendable(job.discord.threadId ?? job.channelId);
        await channel.messages.react(messageId, RERUN_EMOJI);
      } catch (error) {
        log.warn({ err: error, jobId: job.id }, 'could not add the 🔁 reaction');
      }
    },

    async postFailure(job, text) {
      const channel = await sendable(job.discord.threadId ?? job.channelId);
      await channel.send({
        content: failureText(job, text),
        allowedMentions: mentionRequester(job),
        nonce: nonce('f', job),
        enforceNonce: true,
      });
    },

    async tellPrivately(userId, text) {
      try {
        const user = await client.users.fetch(userId);
        await user.send({ content: text, allowedMentions: { parse: [] } });
        return true;
      } catch (error) {
        log.info({ err: error, userId }, 'could not send a direct message');
        return false;
      }
    },
  };
}
