// Failure: the state is written first, then the refund, then the notice (looked up first when
// a restart may have posted it already), then the final state.
import { ProviderError } from '../../providers/errors.js';
import type { JobRecord } from '../../store/jobs.js';
import type { StepContext } from '../context.js';
import { providerFailure, storedFailure, type Failure } from '../../failures.js';
import { showStatus } from './status.js';

export async function failWith(ctx: StepContext, job: JobRecord, error: unknown): Promise<void> {
  if (!(error instanceof ProviderError)) throw error;
  ctx.logFor(job).warn({ err: error.toLog(), state: job.state }, 'provider failure');
  return fail(ctx, job, providerFailure(error));
}

export async function fail(ctx: StepContext, job: JobRecord, failure: Failure): Promise<void> {
  job = await ctx.persist(job, { state: 'failed', failure: storedFailure(failure) });
  return settleFailure(ctx, job, false);
}

export async function settleFailure(ctx: StepContext, job: JobRecord, mayHavePosted: boolean): Promise<void> {
  await ctx.ledger.refund(job.userId, job.id);
  // Word it from the ledger, not from this call: on a resume the refund happened last time.
  const refunded = (await ctx.ledger.entry(job.userId, job.id))?.state === 'refunded';
  const failure = job.failure ?? storedFailure({ code: 'internal' });
  const text = refunded ? `${failure.message} Your ${job.price} credits were refunded.` : failure.message;
  const log = ctx.logFor(job);
  const posted = mayHavePosted
    ? await ctx.delivery.findPost(job, 'failure').catch(() => undefined)
    : undefined;
  if (posted) log.info({ messageId: posted }, 'failure notice was already posted before a restart');
  else
    await ctx.delivery
      .postFailure(job, text)
      .catch((error: unknown) => log.warn({ err: error }, 'could not post the failure notice'));
  job = await ctx.persist(job, { state: 'refunded', finishedAt: ctx.clock.now() });
  ctx.logFor(job).info({ code: failure.code, refunded }, 'job failed');
  await showStatus(ctx, job, true);
  ctx.finished(job);
}
