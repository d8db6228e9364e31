// Starting a job (`accepted`): check the hold, open the status message, put the input images in
// the provider's storage, let the prompt enhancer run first when it was asked for (`enhancing`,
// steps/enhance.ts, which comes back here), then the one paid submit. A submit is retried only when the provider
// proved it did not take it, and moved to the other provider's Flash model when its own is down.
// `submitting` found at start is the one window no store can close (`lostSubmit`). Which answers
// prove a submit was not taken: docs/providers.md, "Proof a submit was not taken".
import { MODELS } from '../../providers/catalog.js';
import { ProviderError } from '../../providers/errors.js';
import type { VideoRequest } from '../../providers/types.js';
import type { JobRecord } from '../../store/jobs.js';
import { backoffMs } from '../backoff.js';
import { accountOf, holdNote, next, type JobRuntime, type Next, type StepDeps } from '../context.js';
import { ENHANCE_REFUND_NOTE, needsEnhancing, promptOf } from '../enhance.js';
import { failoverPlan, runOptions } from '../failover.js';
import { providerFailed } from './fail.js';
import { uploadInputs } from './inputs.js';
import { ensureStatus, showStatus } from './status.js';

export async function start(deps: StepDeps, job: JobRecord, runtime: JobRuntime): Promise<Next> {
  // Held at acceptance; a replay changes nothing, and a lower price (the enhancer's credit given
  // back, a failover) is applied again in case the process died between recording it and
  // lowering the hold. The enhancer runs before any failover, so a failover's replay covers both.
  const account = accountOf(deps.settings, job);
  const held = await deps.economy.hold({
    account,
    jobId: job.id,
    amount: job.price,
    note: holdNote(job.request),
  });
  if (!held.ok) return next.fail(job, { code: 'no_longer_affordable' });
  if (job.failover) await deps.economy.lowerHold(account, job.id, job.price, failoverNote(job));
  else if (job.enhance?.state === 'failed')
    await deps.economy.lowerHold(account, job.id, job.price, ENHANCE_REFUND_NOTE);
  job = await ensureStatus(deps, job, runtime);
  if (deps.clock.now() >= job.deadlineAt) return next.fail(job, { code: 'waited_too_long' });

  const provider = deps.providers.get(job.runModel);
  if (!provider) return next.fail(job, { code: 'model_unavailable', model: job.runModel });

  let inputs;
  try {
    inputs = await uploadInputs(deps, job, runtime, provider);
  } catch (error) {
    return providerFailed(deps, job, error);
  }
  if (!inputs.ok) {
    return 'gone' in inputs ? next.fail(job, { code: 'input_image_gone' }) : next.wake(job, inputs.retryInMs);
  }
  // The optimizer sees the image the submit will use: its copy in the provider's storage.
  if (needsEnhancing(inputs.job)) return next.continue(await deps.save(inputs.job, { state: 'enhancing' }));
  job = await deps.save(inputs.job, { state: 'submitting' });
  let ref;
  try {
    // Not cut short by a stop: the request is on the wire either way, and its answer is what
    // keeps the job from becoming a lost submit.
    ref = await provider.submit(videoRequest(job, inputs.urls));
  } catch (error) {
    if (error instanceof ProviderError && error.notAccepted && error.retryable) {
      // Proven not taken: safe to try again from 'accepted'.
      job = await deps.save(job, { state: 'accepted' });
      return notTaken(deps, job, runtime, error);
    }
    // Anything else (5xx, a reset, a timeout) may have created the task: the contract says the
    // job fails and is refunded, and another provider would run (and bill) it a second time.
    return providerFailed(deps, job, error);
  }
  job = await deps.save(job, {
    state: 'submitted',
    providerRef: ref,
    progress: { phase: 'queued', submittedAt: deps.clock.now(), polls: 0 },
  });
  deps.logFor(job).info({ providerJobId: ref.id, model: job.runModel }, 'job submitted');
  await showStatus(deps, job, runtime, true);
  return next.wake(job, deps.nextPollInMs(job));
}

/** Restarted in `submitting`: the submit may or may not have reached the provider. */
export function lostSubmit(deps: StepDeps, job: JobRecord): Promise<Next> {
  deps
    .logFor(job)
    .error({ model: job.runModel }, 'submit outcome unknown after a restart; refunding the member');
  return Promise.resolve(next.fail(job, { code: 'submit_unknown' }));
}

const failoverNote = (job: JobRecord) => `${job.runModel} ran it for less`;

/** The provider turned the submit away (429, refused): retry, then fail over, then give up. */
async function notTaken(
  deps: StepDeps,
  job: JobRecord,
  runtime: JobRuntime,
  error: ProviderError,
): Promise<Next> {
  if (runtime.retries.submit + 1 < deps.settings.submitAttempts) {
    const inMs = backoffMs(runtime.retries.submit++, error.retryAfterMs);
    deps.logFor(job).warn({ err: error.toLog(), retryInMs: inMs }, 'submit not accepted; retrying');
    return next.wake(job, inMs);
  }
  const plan = deps.settings.failover ? failoverPlan(job, (id) => deps.providers.has(id)) : undefined;
  if (!plan || !deps.slots.move(job.id, MODELS[plan.model].provider)) {
    return providerFailed(deps, job, error);
  }
  deps
    .logFor(job)
    .warn({ err: error.toLog(), to: plan.model, price: plan.price }, 'provider unavailable; failing over');
  // Durable first: the move and its price, then the lower hold (replayed by `start` after a crash).
  const moved = await deps.save(job, {
    runModel: plan.model,
    price: plan.price,
    failover: { from: job.runModel, quotedPrice: job.price },
  });
  await deps.economy.lowerHold(accountOf(deps.settings, moved), moved.id, moved.price, failoverNote(moved));
  runtime.retries.submit = 0;
  await showStatus(deps, moved, runtime, true);
  return next.continue(moved);
}

function videoRequest(job: JobRecord, urls: { image: string; endImage?: string }): VideoRequest {
  const o = runOptions(job);
  return {
    prompt: promptOf(job),
    imageUrl: urls.image,
    aspectRatio: o.aspectRatio,
    durationSeconds: o.durationSeconds,
    ...(o.resolution ? { resolution: o.resolution } : {}),
    ...(o.loop !== undefined ? { loop: o.loop } : {}),
    ...(urls.endImage ? { endImageUrl: urls.endImage } : {}),
  };
}
