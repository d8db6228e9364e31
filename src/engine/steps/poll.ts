// Following a submitted job (`submitted`): one status request per wake-up, on the learned
// schedule (sparser while the provider pushes: docs/push.md); retryable failures back off (never
// sooner than Retry-After); the deadline cancels at the provider. A push only wakes this step
// early: a webhook or a stream's COMPLETED makes it look now, a stream's status stands in for a
// request. A finished video moves the job to `succeeded`, and delivery takes it from there.
import { ProviderError } from '../../providers/errors.js';
import type { PollResult } from '../../providers/types.js';
import type { JobRecord } from '../../store/jobs.js';
import { backoffMs } from '../backoff.js';
import { next, type JobRuntime, type Next, type StepDeps } from '../context.js';
import { providerFailed } from './fail.js';
import { showStatus } from './status.js';

export async function poll(deps: StepDeps, job: JobRecord, runtime: JobRuntime): Promise<Next> {
  const provider = deps.providers.get(job.runModel);
  const ref = job.providerRef;
  if (!provider || !ref) return next.fail(job, { code: 'model_unavailable', model: job.runModel });
  const log = deps.logFor(job);
  const now = deps.clock.now();
  if (now >= job.deadlineAt) {
    await provider
      .cancel(ref, deps.signal)
      .catch((error: unknown) => log.warn({ err: error }, 'cancel failed'));
    return next.fail(job, { code: 'timeout' });
  }
  // A push says when to look (or, from fal's stream, where the job is), never what the video is.
  const pushed = runtime.pushed;
  runtime.pushed = undefined;
  let result: PollResult;
  try {
    if (pushed?.kind === 'progress') result = pushed.result;
    else {
      deps.telemetry.statusPoll(provider.provider);
      result = await provider.poll(ref, deps.signal, pushed ? { pushed: true } : undefined);
    }
  } catch (error) {
    if (
      error instanceof ProviderError &&
      error.retryable &&
      runtime.retries.poll < deps.settings.pollFailureLimit
    ) {
      const inMs = backoffMs(runtime.retries.poll++, error.retryAfterMs);
      log.warn({ err: error.toLog(), retryInMs: inMs }, 'status poll failed; retrying');
      return next.wake(job, inMs);
    }
    return providerFailed(deps, job, error);
  }
  runtime.retries.poll = 0;
  const progress = job.progress ?? { phase: 'queued' as const, submittedAt: now, polls: 0 };
  const submittedAt = progress.submittedAt ?? now;
  switch (result.state) {
    case 'queued':
    case 'running': {
      const phase = result.state;
      const position = result.state === 'queued' ? result.position : undefined;
      const changed = phase !== progress.phase || position !== progress.position;
      const seen = {
        phase,
        submittedAt,
        polls: progress.polls + (pushed?.kind === 'progress' ? 0 : 1),
        ...(position !== undefined ? { position } : {}),
      } as const;
      // Progress is informative only: written when it changes, kept in memory otherwise.
      job = changed ? await deps.save(job, { progress: seen }) : { ...job, progress: seen };
      if (changed) await showStatus(deps, job, runtime, false);
      return next.wake(job, deps.nextPollInMs(job));
    }
    case 'succeeded':
      deps.runTimes.observe(job.runModel, now - submittedAt);
      deps.telemetry.videoReady({
        model: job.runModel,
        polls: progress.polls + 1,
        runSeconds: (now - submittedAt) / 1000,
      });
      log.info(
        { runMs: now - submittedAt, polls: progress.polls + 1, ...(pushed ? { pushed: true } : {}) },
        'video ready',
      );
      return next.continue(
        await deps.save(job, { state: 'succeeded', output: { url: result.videoUrl, nsfw: result.nsfw } }),
      );
    case 'failed':
      return providerFailed(deps, job, result.error);
  }
}
