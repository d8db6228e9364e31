// The end of a job that did not deliver. `settle` (state `failed`): refund, tell the member (looked
// up first when a restart may have posted it already), record `refunded`. `undo` (state
// `accepting`): an acceptance that never completed is taken back silently; nobody was told.
import { failureMessage, providerFailure, storedFailure } from '../../failures.js';
import { ProviderError } from '../../providers/errors.js';
import type { JobRecord } from '../../store/jobs.js';
import { accountOf, next, type JobRuntime, type Next, type StepDeps } from '../context.js';
import { showStatus } from './status.js';

/** A provider's typed error ends the job; anything else is unexpected and left to the dispatcher. */
export function providerFailed(deps: StepDeps, job: JobRecord, error: unknown): Next {
  if (!(error instanceof ProviderError)) throw error;
  deps.logFor(job).warn({ err: error.toLog(), state: job.state }, 'provider failure');
  return next.fail(job, providerFailure(error));
}

export async function settle(deps: StepDeps, job: JobRecord, runtime: JobRuntime): Promise<Next> {
  const account = accountOf(deps.settings, job);
  await deps.economy.refund(account, job.id);
  // Word it from the ledger, not from this call: on a resume the refund happened last time.
  const refunded = (await deps.economy.holdState(account, job.id)) === 'refunded';
  const failure = job.failure ?? storedFailure({ code: 'internal' });
  const text = refunded ? `${failure.message} Your ${job.price} credits were refunded.` : failure.message;
  const log = deps.logFor(job);
  // Only a resumed job, or a retry of this step, can have posted the notice already.
  const mayHavePosted = runtime.resumed || runtime.retries.step > 0;
  const posted = mayHavePosted
    ? await deps.delivery.findPost(job, 'failure').catch(() => undefined)
    : undefined;
  if (posted) log.info({ messageId: posted }, 'failure notice already posted (found by its marker)');
  else
    await deps.delivery
      .postFailure(job, text)
      .catch((error: unknown) => log.warn({ err: error }, 'could not post the failure notice'));
  job = await deps.save(job, { state: 'refunded', finishedAt: deps.clock.now() });
  log.info({ code: failure.code, refunded }, 'job failed');
  await showStatus(deps, job, runtime, true);
  return next.done(job);
}

export async function undo(deps: StepDeps, job: JobRecord): Promise<Next> {
  await deps.economy.refund(accountOf(deps.settings, job), job.id);
  job = await deps.save(job, {
    state: 'refunded',
    failure: { code: 'internal', message: failureMessage({ code: 'internal' }) },
    finishedAt: deps.clock.now(),
  });
  deps.logFor(job).warn('acceptance did not complete; undone (any hold refunded, nothing was sent)');
  return next.done(job);
}
