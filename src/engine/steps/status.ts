// The status message: opened once per job, edited on each phase change (at most every 15 s
// otherwise), with an ETA from the learned run time and the provider's queue. Not a step: the
// steps call these as they go.
import type { JobRecord } from '../../store/jobs.js';
import type { JobRuntime, StepDeps } from '../context.js';

/** Posts the status message (and its thread) unless the job has one; a resumed job looks first. */
export async function ensureStatus(deps: StepDeps, job: JobRecord, runtime: JobRuntime): Promise<JobRecord> {
  if (job.discord.statusMessageId) return job;
  const place = await deps.delivery.openStatus(job, { mayExist: runtime.resumed });
  // Posting it counts as its first edit for the spacing of the next.
  runtime.lastStatusEditAt = deps.clock.now();
  return deps.save(job, { discord: { ...job.discord, ...place } });
}

/**
 * Jobs a provider account runs at once by default (fal's new accounts, WaveSpeed's Bronze tier):
 * each place ahead in the provider's queue is about half a run time more.
 */
const PROVIDER_PARALLELISM = 2;
/** Edits between phase changes are at most this often (the card's <t:…:R> counts down by itself). */
const STATUS_EDIT_MS = 15_000;
/** No two edits of one status message closer than this, phase changes included. */
const STATUS_SPACING_MS = 5_000;

/** Seconds until the video is likely ready: the learned run time left, plus the provider's queue. */
export function etaSecondsFor(
  deps: Pick<StepDeps, 'runTimes'>,
  job: JobRecord,
  now: number,
): number | undefined {
  const p = job.progress;
  if (p?.submittedAt === undefined || job.state !== 'submitted') return undefined;
  const expectedMs = deps.runTimes.expected(job.runModel);
  const left = Math.max(0, p.submittedAt + expectedMs - now);
  const queue = p.phase === 'queued' && p.position ? (p.position * expectedMs) / PROVIDER_PARALLELISM : 0;
  return Math.max(5, Math.round((left + queue) / 1000));
}

/**
 * Edits the status message: on a phase change (`force`), otherwise at most every 15 s; and never
 * two edits within 5 s: a phase change that comes sooner is sent when the 5 s are up, showing
 * the job as it is by then (so a burst of phases is one edit, and the last state always shows).
 */
export async function showStatus(
  deps: StepDeps,
  job: JobRecord,
  runtime: JobRuntime,
  force: boolean,
): Promise<void> {
  const now = deps.clock.now();
  if (!job.discord.statusMessageId || (!force && now - runtime.lastStatusEditAt < STATUS_EDIT_MS)) return;
  const wait = runtime.lastStatusEditAt + STATUS_SPACING_MS - now;
  if (wait > 0) {
    if (runtime.statusPending) runtime.statusPending.job = job;
    else if (force) {
      const pending: { job: JobRecord; timer: unknown } = { job, timer: undefined };
      pending.timer = deps.clock.setTimer(() => {
        runtime.statusPending = undefined;
        void editStatus(deps, pending.job, runtime, deps.clock.now());
      }, wait);
      runtime.statusPending = pending;
    }
    return;
  }
  await editStatus(deps, job, runtime, now);
}

async function editStatus(deps: StepDeps, job: JobRecord, runtime: JobRuntime, now: number): Promise<void> {
  runtime.lastStatusEditAt = now;
  const etaSeconds = etaSecondsFor(deps, job, now);
  await deps.delivery
    .showStatus(job, etaSeconds === undefined ? {} : { etaSeconds })
    .catch((error: unknown) => deps.logFor(job).warn({ err: error }, 'could not update the status message'));
}
