// Where a rerun's card and video go: where the result it was asked from is. See docs/discord.md,
// "Threads".
import type { JobRecord } from '../store/jobs.js';

/**
 * The channel holding the result a rerun was asked from (by 🔁 or a button on it). That is the
 * original's thread as a rule; when the thread was deleted or locked, the result fell back to the
 * channel, and so does the rerun, whose card could not be posted in the thread. Without one (a
 * reaction event always names its channel), the original's thread.
 */
export function rerunPlace(
  original: Pick<JobRecord, 'channelId' | 'discord'>,
  resultChannelId: string | null | undefined,
): string {
  return resultChannelId ?? original.discord.threadId ?? original.channelId;
}
