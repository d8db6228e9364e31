// The engine's Delivery for the terminal: no status message, thread or member to tell. The result
// is the mp4 written to the output path; failures are read from the job record by the runner.
import { createWriteStream } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { request } from 'undici';
import type { Delivery, VideoOutput } from '../engine/delivery.js';
import type { Http } from '../net/http.js';
import type { JobRecord } from '../store/jobs.js';

export interface TerminalDeliveryOptions {
  http: Http;
  /** Where the job's video goes. */
  outFor(job: JobRecord): string;
  /** Deadline for fetching a video the engine left as a link (OUTPUT_DOWNLOAD_TIMEOUT_MS). */
  downloadTimeoutMs: number;
  /** Called once the file is in place. */
  onSaved(job: JobRecord, path: string, video: VideoOutput): void;
}

/** Stands in for the ids of Discord messages the engine records. */
const HERE = 'terminal';

export function createTerminalDelivery(opts: TerminalDeliveryOptions): Delivery {
  return {
    openStatus: () => Promise.resolve({ statusChannelId: HERE, statusMessageId: HERE, threadId: HERE }),
    // The runner follows the job's own writes (watch-jobs.ts); the engine's spaced edits add nothing.
    showStatus: () => Promise.resolve(),
    async postResult(job, video) {
      const path = opts.outFor(job);
      await saveVideo(opts.http, path, video, opts.downloadTimeoutMs);
      opts.onSaved(job, path, video);
      return { messageId: HERE };
    },
    // A terminal is no age-restricted channel: NSFW_POLICY applies as in any other place.
    isAgeRestricted: () => Promise.resolve(false),
    findPost: () => Promise.resolve(undefined),
    offerRerun: () => Promise.resolve(),
    postFailure: () => Promise.resolve(),
    tellPrivately: () => Promise.resolve(false),
  };
}

/**
 * Writes beside the target and renames, so the path holds a whole video or nothing. A video over
 * OUTPUT_MAX_BYTES reaches us as its URL only: it is streamed to disk, never held in memory.
 */
async function saveVideo(http: Http, path: string, video: VideoOutput, timeoutMs: number): Promise<void> {
  const part = `${path}.part`;
  try {
    if (video.bytes) await writeFile(part, video.bytes);
    else {
      const res = await request(video.url, {
        method: 'GET',
        dispatcher: http.dispatcher,
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (res.statusCode < 200 || res.statusCode >= 300) {
        await res.body.dump();
        throw new Error(`the video download answered HTTP ${res.statusCode}`);
      }
      await pipeline(res.body, createWriteStream(part));
    }
    await rename(part, path);
  } catch (error) {
    await rm(part, { force: true });
    throw error;
  }
}
