// The job state machine: which step runs for each state. Each step writes the job before its
// side effect (submit, post), so a restart resumes from the last durable state without doubling.
import type { JobRecord } from '../store/jobs.js';
import type { StepContext } from './context.js';
import { deliver } from './steps/deliver.js';
import { settleFailure } from './steps/fail.js';
import { poll } from './steps/poll.js';
import { openStatusIfMissing, showStatus } from './steps/status.js';
import { lostSubmit, start } from './steps/submit.js';

export { fail } from './steps/fail.js';
export { etaSecondsFor } from './steps/status.js';

export async function runStep(ctx: StepContext, job: JobRecord): Promise<void> {
  switch (job.state) {
    case 'waiting':
      return openStatusIfMissing(ctx, job).then((j) => showStatus(ctx, j, false));
    case 'accepted':
      return start(ctx, job);
    case 'submitting':
      return lostSubmit(ctx, job);
    case 'submitted':
      return poll(ctx, job);
    case 'succeeded':
    case 'delivering':
      return deliver(ctx, job);
    case 'failed':
      // Reached only on a resume or a retry: the notice may already be out.
      return settleFailure(ctx, job, true);
    case 'delivered':
    case 'refunded':
      return;
  }
}
