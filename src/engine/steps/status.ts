// The status message: opened once per job, edited on each state change (at most every 15 s
// otherwise), with an ETA from the learned run time and the provider's queue.
import type { JobRecord } from '../../store/jobs.js';
import type { StepContext } from '../context.js';

export async function openStatusIfMissing(ctx: StepContext, job: JobRecord): Promise<JobRecord> {
  if (job.discord.statusMessageId) return job;
  const place = await ctx.delivery.openStatus(job);
  return ctx.persist(job, { discord: { ...job.discord, ...place } });
}

/**
 * Jobs a provider account runs at once by default (fal's new accounts, WaveSpeed's Bronze tier):
 * each place ahead in the provider's queue is about half a run time more.
 */
const PROVIDER_PARALLELISM = 2;

/** Seconds until the video is likely ready: the learned run time left, plus the provider's queue. */
export function etaSecondsFor(
  ctx: Pick<StepContext, 'runTimes'>,
  job: JobRecord,
  now: number,
): number | undefined {
  const p = job.progress;
  if (p?.submittedAt === undefined || job.state !== 'submitted') return undefined;
  const expectedMs = ctx.runTimes.expected(job.runModel);
  const left = Math.max(0, p.submittedAt + expectedMs - now);
  const queue = p.phase === 'queued' && p.position ? (p.position * expectedMs) / PROVIDER_PARALLELISM : 0;
  return Math.max(5, Math.round((left + queue) / 1000));
}

/** Edits the status message: always on a state change, otherwise at most every 15 s. */
export async function showStatus(ctx: StepContext, job: JobRecord, force: boolean): Promise<void> {
  const attempts = ctx.attempts(job.id);
  const now = ctx.clock.now();
  if (!job.discord.statusMessageId || (!force && now - attempts.lastStatusEditAt < 15_000)) return;
  attempts.lastStatusEditAt = now;
  const etaSeconds = etaSecondsFor(ctx, job, now);
  await ctx.delivery
    .showStatus(job, etaSeconds === undefined ? {} : { etaSeconds })
    .catch((error: unknown) => ctx.logFor(job).warn({ err: error }, 'could not update the status message'));
}
