// Waiting in line (`waiting`): the credits are held and the member has a status message with
// their place; the inputs go to the provider's storage now, so no bytes wait in memory. When the
// engine gives the job a slot, it becomes `accepted` with a fresh deadline.
import type { JobRecord } from '../../store/jobs.js';
import { next, type JobRuntime, type Next, type StepDeps } from '../context.js';
import { uploadInputs } from './inputs.js';
import { ensureStatus, showStatus } from './status.js';

export async function waitTurn(deps: StepDeps, job: JobRecord, runtime: JobRuntime): Promise<Next> {
  if (deps.slots.isRunning(job.id) && (await deps.slots.claim(job))) {
    return next.continue(
      await deps.save(job, { state: 'accepted', deadlineAt: deps.clock.now() + deps.settings.jobDeadlineMs }),
    );
  }
  job = await ensureStatus(deps, job, runtime);
  const provider = deps.providers.get(job.runModel);
  if (provider && (runtime.images.main || runtime.images.end)) {
    // Best effort: `start` uploads (and retries) whatever is still missing.
    const uploaded = await uploadInputs(deps, job, runtime, provider).catch(() => undefined);
    if (uploaded?.ok) job = uploaded.job;
  }
  await showStatus(deps, job, runtime, false);
  return next.idle(job);
}
