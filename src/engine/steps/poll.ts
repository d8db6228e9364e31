// Polling a submitted job: one status request per wake-up, on the learned schedule; retryable
// failures back off (never sooner than Retry-After); the deadline cancels at the provider.
import { ProviderError } from '../../providers/errors.js';
import type { JobRecord } from '../../store/jobs.js';
import { backoffMs } from '../backoff.js';
import type { StepContext } from '../context.js';
import { nextPollDelayMs } from '../poll-schedule.js';
import { deliver } from './deliver.js';
import { fail, failWith } from './fail.js';
import { showStatus } from './status.js';

export function plan(ctx: StepContext, job: JobRecord) {
  return { expectedMs: ctx.runTimes.expected(job.runModel), cv: ctx.runTimes.cv(job.runModel) };
}

export async function poll(ctx: StepContext, job: JobRecord): Promise<void> {
  const provider = ctx.providers.get(job.runModel);
  const ref = job.providerRef;
  if (!provider || !ref) return fail(ctx, job, { code: 'model_unavailable', model: job.runModel });
  const now = ctx.clock.now();
  if (now >= job.deadlineAt) {
    await provider
      .cancel(ref)
      .catch((error: unknown) => ctx.logFor(job).warn({ err: error }, 'cancel failed'));
    return fail(ctx, job, { code: 'timeout' });
  }
  const attempts = ctx.attempts(job.id);
  let result;
  try {
    result = await provider.poll(ref);
  } catch (error) {
    if (error instanceof ProviderError && error.retryable && attempts.poll < ctx.settings.pollFailureLimit) {
      const delay = backoffMs(attempts.poll++, error.retryAfterMs);
      ctx.logFor(job).warn({ err: error.toLog(), retryInMs: delay }, 'status poll failed; retrying');
      ctx.wake(job, delay);
      return;
    }
    return failWith(ctx, job, error);
  }
  attempts.poll = 0;
  const progress = job.progress ?? { phase: 'queued' as const, submittedAt: now, polls: 0 };
  const submittedAt = progress.submittedAt ?? now;
  switch (result.state) {
    case 'queued':
    case 'running': {
      const phase = result.state === 'queued' ? 'queued' : 'running';
      const position = result.state === 'queued' ? result.position : undefined;
      const changed = phase !== progress.phase || position !== progress.position;
      const next = {
        phase,
        submittedAt,
        polls: progress.polls + 1,
        ...(position !== undefined ? { position } : {}),
      } as const;
      // Progress is informative only: write it when it changes, not on every poll.
      job = changed ? await ctx.persist(job, { progress: next }) : ctx.remember(job, { progress: next });
      if (changed) await showStatus(ctx, job, false);
      ctx.wake(job, nextPollDelayMs(ctx.clock.now() - submittedAt, plan(ctx, job)));
      return;
    }
    case 'succeeded':
      job = await ctx.persist(job, {
        state: 'succeeded',
        output: { url: result.videoUrl, nsfw: result.nsfw },
      });
      ctx.runTimes.observe(job.runModel, now - submittedAt);
      ctx.logFor(job).info({ runMs: now - submittedAt, polls: progress.polls + 1 }, 'video ready');
      return deliver(ctx, job);
    case 'failed':
      return failWith(ctx, job, result.error);
  }
}
