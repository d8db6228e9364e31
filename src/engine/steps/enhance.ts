// The prompt enhancer (`enhancing`, for a job asked with `enhance`): WaveSpeed's prompt optimizer
// rewrites the member's prompt, with the input image for context, before the video submit. The
// task id is written before anything waits on it, so a restart follows the same task instead of
// paying for a second one, and the submit is retried only when WaveSpeed proved it did not take
// it. Whatever else goes wrong (a failed task, an output we cannot use, no answer within the
// wait, a submit whose outcome is unknown) the member's own prompt is used and the enhancer's
// credit is refunded. Either way the job goes back to `accepted`, whose submit uses the prompt
// the job ended up with (promptOf).
import { MODELS, ENHANCE_PRICE } from '../../providers/catalog.js';
import { ProviderError } from '../../providers/errors.js';
import type { PromptOptimizer } from '../../providers/types.js';
import type { JobRecord } from '../../store/jobs.js';
import { backoffMs } from '../backoff.js';
import { next, type JobRuntime, type Next, type StepDeps } from '../context.js';
import { ENHANCE_WAIT_MS, needsEnhancing } from '../enhance.js';
import { showStatus } from './status.js';

/** Why the member's own prompt was used, as the record and the log say it. */
type Reason = 'unavailable' | 'submit_failed' | 'submit_unknown' | 'poll_failed' | 'failed' | 'timeout';

export async function enhance(deps: StepDeps, job: JobRecord, runtime: JobRuntime): Promise<Next> {
  if (!needsEnhancing(job)) return next.continue(await deps.save(job, { state: 'accepted' }));
  const optimizer = deps.optimizer;
  // The WaveSpeed key was removed across a restart: nothing can follow the task any more.
  if (!optimizer) return ownPrompt(deps, job, 'unavailable');
  switch (job.enhance?.state) {
    case 'pending':
      return submit(deps, job, runtime, optimizer);
    case 'submitted':
      return follow(deps, job, runtime, optimizer);
    default:
      // `submitting`: the submit may have created a task we cannot name. Never a second one.
      return ownPrompt(deps, job, 'submit_unknown');
  }
}

async function submit(
  deps: StepDeps,
  job: JobRecord,
  runtime: JobRuntime,
  optimizer: PromptOptimizer,
): Promise<Next> {
  job = await deps.save(job, { enhance: { state: 'submitting' } });
  let task;
  try {
    // Not cut short by a stop, like the video submit: its answer is what names the task.
    task = await optimizer.submit({ text: job.request.prompt, imageUrl: imageFor(job) });
  } catch (error) {
    if (
      error instanceof ProviderError &&
      error.notAccepted &&
      error.retryable &&
      runtime.retries.enhance + 1 < deps.settings.submitAttempts
    ) {
      const inMs = backoffMs(runtime.retries.enhance++, error.retryAfterMs);
      deps
        .logFor(job)
        .warn({ err: error.toLog(), retryInMs: inMs }, 'prompt enhancer submit not accepted; retrying');
      return next.wake(await deps.save(job, { enhance: { state: 'pending' } }), inMs);
    }
    // A 5xx, a reset or a timeout may have created the task: not sent again, the member's prompt runs.
    return ownPrompt(deps, job, 'submit_failed', error);
  }
  runtime.retries.enhance = 0;
  job = await deps.save(job, {
    enhance: { state: 'submitted', taskId: task.id, submittedAt: deps.clock.now() },
  });
  deps.logFor(job).debug({ optimizerTaskId: task.id }, 'prompt enhancer submitted');
  await showStatus(deps, job, runtime, true);
  return next.wake(job, pollDelayMs(0));
}

async function follow(
  deps: StepDeps,
  job: JobRecord,
  runtime: JobRuntime,
  optimizer: PromptOptimizer,
): Promise<Next> {
  const taskId = job.enhance?.taskId;
  const submittedAt = job.enhance?.submittedAt;
  if (taskId === undefined || submittedAt === undefined) return ownPrompt(deps, job, 'submit_unknown');
  const now = deps.clock.now();
  // Looked at once more even past the wait (a restart may come late): a finished rewrite is used.
  const left = submittedAt + (deps.settings.enhanceWaitMs ?? ENHANCE_WAIT_MS) - now;
  let result;
  try {
    result = await optimizer.poll(taskId, deps.signal);
  } catch (error) {
    if (deps.signal.aborted) throw error; // stopping: the next start follows the same task
    if (error instanceof ProviderError && error.retryable) {
      // Never sooner than Retry-After: a wait that would end past the bound ends it now.
      const inMs = backoffMs(runtime.retries.enhance++, error.retryAfterMs);
      if (inMs >= left) return ownPrompt(deps, job, 'timeout', error);
      deps.logFor(job).warn({ err: error.toLog(), retryInMs: inMs }, 'prompt enhancer poll failed; retrying');
      return next.wake(job, inMs);
    }
    return ownPrompt(deps, job, 'poll_failed', error);
  }
  runtime.retries.enhance = 0;
  switch (result.state) {
    case 'queued':
    case 'running':
      if (left <= 0) return ownPrompt(deps, job, 'timeout');
      return next.wake(job, Math.min(pollDelayMs(now - submittedAt), left));
    case 'failed':
      return ownPrompt(deps, job, 'failed', result.error);
    case 'succeeded': {
      job = await deps.save(job, {
        state: 'accepted',
        enhance: { state: 'used', taskId, submittedAt, prompt: result.prompt },
      });
      deps
        .logFor(job)
        .info(
          { optimizerTaskId: taskId, waitedMs: now - submittedAt, chars: result.prompt.length },
          'prompt enhancer used',
        );
      return next.continue(job);
    }
  }
}

/**
 * The member's own prompt runs and the enhancer's credit goes back. Durable first: the price and
 * the outcome are saved, and `accepted`'s step, which runs next (now, or after a restart), lowers
 * the hold to that price before anything else.
 */
async function ownPrompt(deps: StepDeps, job: JobRecord, reason: Reason, error?: unknown): Promise<Next> {
  const { taskId, submittedAt } = job.enhance ?? {};
  job = await deps.save(job, {
    state: 'accepted',
    price: Math.max(0, job.price - ENHANCE_PRICE),
    enhance: {
      state: 'failed',
      reason,
      ...(taskId !== undefined ? { taskId } : {}),
      ...(submittedAt !== undefined ? { submittedAt } : {}),
    },
  });
  const err = error instanceof ProviderError ? error.toLog() : error;
  deps
    .logFor(job)
    .warn(
      { reason, ...(taskId ? { optimizerTaskId: taskId } : {}), ...(error ? { err } : {}) },
      "prompt enhancer failed; using the member's own prompt and refunding its credit",
    );
  return next.continue(job);
}

/** The image the video submit uses (its provider's copy), which the optimizer can fetch too. */
function imageFor(job: JobRecord): string {
  const image = job.request.image;
  return image.uploads[MODELS[job.runModel].provider] ?? Object.values(image.uploads)[0] ?? image.sourceUrl;
}

/** A rewrite takes seconds: look often at first, then every two seconds up to the wait's end. */
function pollDelayMs(elapsedMs: number): number {
  return elapsedMs < 2_000 ? 500 : elapsedMs < 10_000 ? 1_000 : 2_000;
}
