// The status message of a job as the card shows it (src/discord/card.ts): which phase the job's
// state is, its place in line or in the provider's queue, the expected finish, the input image as
// the thumbnail, and a failover's note.
import type { Progress } from '../engine/delivery.js';
import type { JobRecord } from '../store/jobs.js';
import { statusCard, type CardMessage, type CardPhase } from './card.js';
import { movedNote } from './text.js';

/** Where a job is, in the words of the status card. */
export function phaseOf(job: JobRecord): CardPhase {
  switch (job.state) {
    case 'waiting':
      return 'waiting';
    case 'enhancing':
      return 'enhancing';
    case 'submitted':
      return job.progress?.phase === 'running' ? 'rendering' : 'queued';
    case 'succeeded':
    case 'delivering':
      return 'fetching';
    case 'delivered':
      return 'done';
    case 'failed':
    case 'refunded':
      return job.failure?.code === 'cancelled' ? 'cancelled' : 'failed';
    default:
      return 'queued'; // accepted, submitting: on its way to the provider
  }
}

/** The whole status message for `job` now: send or edit with all of it (an ended card drops Cancel). */
export function statusMessage(job: JobRecord, progress: Progress, now: number): CardMessage {
  const phase = phaseOf(job);
  const place = job.progress?.position;
  // Our line is counted from 1; the provider's queue position from 0.
  const position =
    phase === 'waiting' ? place : phase === 'queued' && place !== undefined ? place + 1 : undefined;
  const image = job.request.image;
  const thumbnail = Object.values(image.uploads)[0] ?? image.sourceUrl;
  return statusCard(job, {
    phase,
    ...(position !== undefined ? { position } : {}),
    ...(progress.etaSeconds !== undefined ? { expectedFinishAt: now + progress.etaSeconds * 1000 } : {}),
    thumbnailUrl: thumbnail,
    ...(job.balanceAfter !== undefined ? { balanceAfter: job.balanceAfter } : {}),
    ...(job.runModel !== job.request.model ? { note: movedNote(job) } : {}),
    now,
  });
}
