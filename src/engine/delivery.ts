// What the engine needs from Discord, as a small interface: the discord/ layer implements it,
// tests and benchmarks fake it. The engine never imports discord.js.
import type { JobRecord } from '../store/jobs.js';
import type { Placement } from './telemetry.js';

export interface StatusPlace {
  statusChannelId: string;
  statusMessageId: string;
  /** The thread started from the status message, or the channel itself when none could be made. */
  threadId: string;
}

export interface Progress {
  /** Seconds until the video is likely ready, when we can tell. */
  etaSeconds?: number;
}

export interface VideoOutput {
  url: string;
  /** The mp4 bytes when they fit the upload limit; otherwise the URL is posted. */
  bytes?: Uint8Array;
  /** Post behind a spoiler with a content warning (flagged by the provider, not an age-restricted channel). */
  spoiler: boolean;
}

export interface OpenStatusOptions {
  /**
   * The status message may have been posted before a restart without being recorded: look for
   * it (by its marker) and reuse it and its thread instead of posting a second one.
   */
  mayExist?: boolean;
}

export interface Delivery {
  /** Posts the status message (bot token) and starts its thread. */
  openStatus(job: JobRecord, opts?: OpenStatusOptions): Promise<StatusPlace>;
  /** Edits the status message to show where the job is; called sparingly. */
  showStatus(job: JobRecord, progress?: Progress): Promise<void>;
  /**
   * Posts the finished video where results go: the thread, else the channel, else a follow-up on
   * the interaction, else a DM. Must be safe to call again after a crash. `placement` says
   * whether the mp4 went up or its link (a refused upload falls back to the link); an
   * implementation that cannot tell leaves it out, and the post is not counted by placement.
   */
  postResult(job: JobRecord, video: VideoOutput): Promise<{ messageId: string; placement?: Placement }>;
  /** Whether results for this job land in an age-restricted channel. */
  isAgeRestricted(job: JobRecord): Promise<boolean>;
  /**
   * Looks for a result or failure notice this job already posted (the crash-after-post window),
   * in the thread and the channel after the status message.
   */
  findPost(job: JobRecord, kind: 'result' | 'failure'): Promise<string | undefined>;
  /** Invites reruns on a posted result (the bot's own 🔁); best effort. */
  offerRerun(job: JobRecord, messageId: string): Promise<void>;
  /** Tells the member the job failed and was refunded (in the same places as a result). */
  postFailure(job: JobRecord, text: string): Promise<void>;
  /** A private word to a member (a DM); resolves false when it could not be delivered. */
  tellPrivately(userId: string, text: string): Promise<boolean>;
}
