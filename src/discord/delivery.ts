// Delivery over the bot token: the status message and its thread (in a forum or media channel, a
// post whose starter message is the status), progress edits, the result post and failure notices.
// When the thread or channel is gone or closed to the bot, results and notices move on: the
// channel, then a follow-up on the interaction while its token lives, then a DM. See
// docs/discord.md for the Discord behaviour this relies on.
import {
  DiscordjsError,
  DiscordjsErrorCodes,
  DiscordAPIError,
  MessageFlags,
  type Client,
  type Message,
  type MessageCreateOptions,
  type SendableChannels,
  type ThreadOnlyChannel,
} from 'discord.js';
import type { Delivery, OpenStatusOptions, StatusPlace } from '../engine/delivery.js';
import type { Logger } from '../logger.js';
import { jobFields } from '../logger.js';
import type { JobRecord } from '../store/jobs.js';
import { createFollowUps, type FollowUps } from './followups.js';
import { findAfter, snowflakeAt } from './history.js';
import { isClosedToUs, isTokenGone, isTooLarge, NotSendable } from './errors.js';
import { botPermission, type BotPermissionName } from './permissions.js';
import { RERUN_EMOJI } from './reactions.js';
import { resultComponents } from './card.js';
import { statusMessage } from './status-card.js';
import { failureText, marker, resultText, threadName } from './text.js';

/** "A thread has already been created for this message", from Discord or from discord.js. */
function threadExists(error: unknown): boolean {
  if (error instanceof DiscordAPIError) return Number(error.code) === 160004;
  return error instanceof DiscordjsError && error.code === DiscordjsErrorCodes.MessageExistingThread;
}

/** Message nonces are at most 25 characters; job ids are 14. */
const nonce = (kind: 's' | 'r' | 'f', job: JobRecord) => `${kind}${job.id}`;

/** How far before the job's creation a status message may carry an earlier timestamp (clock skew). */
const STATUS_SEARCH_MARGIN_MS = 5 * 60_000;

/** The mp4 as a Buffer over the same memory: no second copy of up to 100 MiB. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

type Payload = Pick<MessageCreateOptions, 'content' | 'files' | 'allowedMentions' | 'components'>;

export function createDelivery(
  client: Client,
  log: Logger,
  followUps: FollowUps = createFollowUps(),
): Delivery {
  /** Where each job's result actually landed, for the 🔁 reaction (this process only). */
  const resultChannel = new Map<string, string>();

  async function sendable(channelId: string): Promise<SendableChannels> {
    const channel = await client.channels.fetch(channelId);
    if (!channel?.isSendable()) throw new NotSendable(channelId);
    return channel;
  }

  /** Whether the bot has one of its permissions (src/discord/permissions.ts) in a channel. */
  function may(channel: SendableChannels, permission: BotPermissionName): boolean {
    if (channel.isDMBased() || !client.user) return true;
    return channel.permissionsFor(client.user)?.has(botPermission(permission)) ?? true;
  }

  /** The thread, then the channel the command was used in. */
  const places = (job: JobRecord): string[] => [
    ...new Set(
      [job.discord.threadId, job.discord.statusChannelId, job.channelId].filter(
        (id): id is string => id !== undefined && id !== '',
      ),
    ),
  ];

  const mentionRequester = (job: JobRecord) => ({ users: [job.userId], repliedUser: false });

  /**
   * Sends to the first place that takes it. `build` gets whether files may go along. Errors other
   * than "this place is gone or closed to us" are thrown, for the engine to retry.
   */
  async function sendSomewhere(
    job: JobRecord,
    kind: 'r' | 'f',
    build: (canAttach: boolean) => Payload[],
  ): Promise<Message> {
    const jobLog = log.child(jobFields(job));
    const tryAll = async (send: (p: Payload) => Promise<Message>, canAttach: boolean) => {
      const [first, ...rest] = build(canAttach);
      if (!first) throw new Error('nothing to send');
      try {
        return await send(first);
      } catch (error) {
        // An upload refused (too large, or Attach Files taken away): the next payload is the link.
        const next = rest[0];
        if (!next || !(isTooLarge(error) || isClosedToUs(error))) throw error;
        jobLog.warn({ err: error }, 'upload refused; posting the link');
        return send(next);
      }
    };
    for (const id of places(job)) {
      try {
        const channel = await sendable(id);
        return await tryAll(
          (p) => channel.send({ ...p, nonce: nonce(kind, job), enforceNonce: true }),
          may(channel, 'AttachFiles'),
        );
      } catch (error) {
        if (!isClosedToUs(error)) throw error;
        jobLog.warn({ err: error, channelId: id }, 'cannot post here; trying the next place');
      }
    }
    const interaction = followUps.get(job.id);
    if (interaction) {
      try {
        const flags = kind === 'f' ? { flags: MessageFlags.Ephemeral as const } : {};
        return await tryAll((p) => interaction.followUp({ ...p, ...flags }), true);
      } catch (error) {
        // A follow-up has no nonce: after a timeout or a 5xx it may have landed, so the engine
        // retries rather than risk a second copy by DM.
        if (!isClosedToUs(error) && !isTokenGone(error)) throw error;
        jobLog.warn({ err: error }, 'cannot follow up on the interaction; trying a direct message');
      }
    }
    try {
      const user = await client.users.fetch(job.userId);
      return await tryAll((p) => user.send(p), true);
    } catch (error) {
      jobLog.warn({ err: error }, 'cannot send a direct message either');
      throw new Error('no place left to post to', { cause: error });
    }
  }

  async function findStatus(channel: SendableChannels, job: JobRecord): Promise<Message | undefined> {
    const mine = marker(job.id, 'status');
    return findAfter(
      channel,
      snowflakeAt(job.createdAt - STATUS_SEARCH_MARGIN_MS),
      (m) => m.author.id === client.user?.id && m.content.includes(mine),
    );
  }

  /**
   * The post a status may have started before a restart: one of the bot's active posts in the
   * forum, started since the job was made, whose starter message has the job's marker. A post
   * takes no nonce, so this is the only guard against a second post.
   */
  async function findStatusPost(forum: ThreadOnlyChannel, job: JobRecord): Promise<string | undefined> {
    const mine = marker(job.id, 'status');
    const since = BigInt(snowflakeAt(job.createdAt - STATUS_SEARCH_MARGIN_MS));
    const posts = forum.threads.cache.filter((t) => t.ownerId === client.user?.id && BigInt(t.id) > since);
    for (const post of posts.values()) {
      // A post and its starter message share an id.
      const starter = await post.messages.fetch(post.id).catch(() => undefined);
      if (starter?.content.includes(mine)) return post.id;
    }
    return undefined;
  }

  /** A forum or media channel takes no messages: the status card starts a post of its own. */
  async function openPost(
    forum: ThreadOnlyChannel,
    job: JobRecord,
    opts: OpenStatusOptions,
  ): Promise<StatusPlace> {
    let postId: string | undefined;
    if (opts.mayExist) {
      postId = await findStatusPost(forum, job).catch((error: unknown) => {
        log.warn({ err: error, jobId: job.id }, 'could not look for an earlier status post');
        return undefined;
      });
      if (postId) log.info({ jobId: job.id, postId }, 'reusing the earlier status post');
    }
    postId ??= (
      await forum.threads.create({
        name: threadName(job.request.prompt),
        autoArchiveDuration: 1440,
        message: { ...statusMessage(job, {}, Date.now()), allowedMentions: { parse: [] } },
      })
    ).id;
    // The status lives inside the post, so the post is its channel as well as its thread.
    return { statusChannelId: postId, statusMessageId: postId, threadId: postId };
  }

  return {
    async openStatus(job, opts = {}) {
      const place = await client.channels.fetch(job.channelId);
      if (place?.isThreadOnly()) return openPost(place, job, opts);
      const channel = await sendable(job.channelId);
      let message: Message | undefined;
      if (opts.mayExist) {
        // The nonce protects only minutes: look for a status message posted before a restart.
        message = await findStatus(channel, job).catch((error: unknown) => {
          log.warn({ err: error, ...jobFields(job) }, 'could not look for an earlier status message');
          return undefined;
        });
        if (message)
          log.info({ ...jobFields(job), messageId: message.id }, 'reusing the earlier status message');
      }
      message ??= await channel.send({
        ...statusMessage(job, {}, Date.now()),
        // The member asked for this a moment ago: name them, but do not ping.
        allowedMentions: { parse: [] },
        nonce: nonce('s', job),
        enforceNonce: true,
      });
      let threadId = channel.id;
      // A thread the bot could start but not post in would swallow every result.
      const canThread = may(channel, 'CreatePublicThreads') && may(channel, 'SendMessagesInThreads');
      if (message.hasThread) {
        // A status message posted before a restart, thread and all; a thread started from a
        // message has that message's id.
        threadId = message.id;
      } else if (canThread && !channel.isThread() && !channel.isDMBased() && 'threads' in channel) {
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
        ...statusMessage(job, progress ?? {}, Date.now()),
        allowedMentions: { parse: [] },
      });
    },

    async postResult(job, video) {
      const allowedMentions = mentionRequester(job);
      const components = [resultComponents(job.id)];
      const link: Payload = {
        allowedMentions,
        components,
        content: resultText(job, { spoiler: video.spoiler, url: video.url }),
      };
      const message = await sendSomewhere(job, 'r', (canAttach) => {
        if (!video.bytes || !canAttach) return [link];
        const name = `${video.spoiler ? 'SPOILER_' : ''}animate-${job.id}.mp4`;
        const upload: Payload = {
          allowedMentions,
          components,
          content: resultText(job, { spoiler: video.spoiler }),
          files: [{ attachment: asBuffer(video.bytes), name }],
        };
        // Our size check and Discord's can disagree (boosts change); the link is the fallback.
        return [upload, link];
      });
      resultChannel.set(job.id, message.channelId);
      // What Discord stored, not what was tried: a refused upload went again as the link.
      return { messageId: message.id, placement: message.attachments.size > 0 ? 'upload' : 'link' };
    },

    async isAgeRestricted(job) {
      const channel = await client.channels.fetch(job.discord.threadId ?? job.channelId).catch(() => null);
      if (!channel || channel.isDMBased()) return false;
      if (channel.isThread()) return channel.parent?.nsfw ?? false;
      return 'nsfw' in channel ? channel.nsfw : false;
    },

    async findPost(job, kind) {
      // Results land in the status thread, or (on fallback) in the channel after the status.
      const anchor = job.discord.statusMessageId ?? snowflakeAt(job.createdAt - STATUS_SEARCH_MARGIN_MS);
      const mine = marker(job.id, kind);
      for (const id of places(job)) {
        try {
          const channel = await sendable(id);
          const found = await findAfter(
            channel,
            anchor,
            (m) => m.author.id === client.user?.id && m.content.includes(mine),
          );
          if (found) return found.id;
        } catch (error) {
          if (!isClosedToUs(error)) throw error;
        }
      }
      return undefined;
    },

    async offerRerun(job, messageId) {
      // Asked once per posted result: the entry is taken, so the map never outgrows the jobs in flight.
      const landed = resultChannel.get(job.id);
      resultChannel.delete(job.id);
      try {
        const channel = await sendable(landed ?? job.discord.threadId ?? job.channelId);
        await channel.messages.react(messageId, RERUN_EMOJI);
      } catch (error) {
        log.warn({ err: error, ...jobFields(job) }, 'could not add the 🔁 reaction');
      }
    },

    async postFailure(job, text) {
      await sendSomewhere(job, 'f', () => [
        { content: failureText(job, text), allowedMentions: mentionRequester(job) },
      ]);
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
