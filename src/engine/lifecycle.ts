// One job's life, in order. Each state has one step; a step does that stage's work, writes what
// must survive a crash *before* its side effect, and returns what happens next (`Next`). Only the
// dispatcher below sequences steps: it runs the step for the job's state, applies the answer
// (run the next state now, wake later, idle, record a failure, finish) and turns unexpected
// errors into bounded retries.
//
//   accepting ──(hold + record written)──▶ waiting ──(a slot frees)──▶ accepted
//        │                                                    │
//        └─ found at start: undo (refund any hold, silent)    ▼
//   accepted    start       hold checked, status message, inputs uploaded, then `enhancing`
//                           if the prompt enhancer has work left, else `submitting`
//   enhancing   enhance     the optimizer's task id written before it is followed (bounded);
//                           the rewrite or the member's own prompt (credit refunded) → `accepted`
//   submitting  (the paid submit is on the wire) → `submitted`; found at start: lostSubmit
//   submitted   poll        on the learned schedule until the provider says done → `succeeded`
//   succeeded   deliver     download, `delivering`, post once, record, charge → `delivered`
//   delivering  deliver     (the post may be on the wire; a restart looks for it first)
//   failed      settle      refund, tell the member once → `refunded`
//
// Any step may answer `fail`: the dispatcher writes `failed` with the failure, then settles it.
import type { Logger } from '../logger.js';
import type { JobRecord, JobState } from '../store/jobs.js';
import { backoffMs } from './backoff.js';
import type { JobRuntime, Next, Step, StepDeps } from './context.js';
import { deliver } from './steps/deliver.js';
import { enhance } from './steps/enhance.js';
import { settle, undo } from './steps/fail.js';
import { poll } from './steps/poll.js';
import { lostSubmit, start } from './steps/start.js';
import { waitTurn } from './steps/wait.js';
import { storedFailure } from '../failures.js';

const STEPS: Record<JobState, Step | undefined> = {
  accepting: undo,
  waiting: waitTurn,
  accepted: start,
  enhancing: enhance,
  submitting: lostSubmit,
  submitted: poll,
  succeeded: deliver,
  delivering: deliver,
  failed: settle,
  delivered: undefined,
  refunded: undefined,
};

/** Unexpected errors in a step are retried this many times before the job is refunded. */
const STEP_RETRIES = 5;
/** Steps run back to back for one wake-up at most this often (a guard against a step loop). */
const MAX_CHAINED_STEPS = 16;

export interface Dispatcher {
  /** Where the dispatcher's answers go: the engine's copy of the job, its timer, its end. */
  wake(job: JobRecord, inMs: number): void;
  finished(job: JobRecord): void;
  /** The engine's latest copy of the job (a failed step may have saved before it threw). */
  latest(jobId: string): JobRecord | undefined;
  setLatest(job: JobRecord): void;
}

/** Runs the job's steps from its current state until one asks to wait, idle or stop. */
export async function runJob(
  deps: StepDeps,
  engine: Dispatcher,
  job: JobRecord,
  runtime: JobRuntime,
): Promise<void> {
  for (let chained = 0; chained < MAX_CHAINED_STEPS; chained++) {
    const step = STEPS[job.state];
    if (!step) return engine.finished(job);
    deps.logFor(job).debug({ state: job.state }, 'step');
    let answer: Next;
    try {
      answer = await step(deps, job, runtime);
      runtime.retries.step = 0;
    } catch (error) {
      if (deps.signal.aborted) return; // stopping: the job resumes from its last state at the next start
      return retryOrGiveUp(deps, engine, engine.latest(job.id) ?? job, runtime, error);
    }
    engine.setLatest(answer.job);
    // A step cut short by the engine stopping may answer `fail` (a download aborted): the job
    // keeps its last state and resumes at the next start instead.
    if (deps.signal.aborted && answer.do === 'fail') return;
    switch (answer.do) {
      case 'continue':
        job = answer.job;
        continue;
      case 'wake':
        return engine.wake(answer.job, answer.inMs);
      case 'idle':
        return;
      case 'done':
        return engine.finished(answer.job);
      case 'fail':
        try {
          job = await deps.save(answer.job, { state: 'failed', failure: storedFailure(answer.failure) });
        } catch (error) {
          return retryOrGiveUp(deps, engine, answer.job, runtime, error);
        }
        continue;
    }
  }
  engine.wake(job, 0);
}

async function retryOrGiveUp(
  deps: StepDeps,
  engine: Dispatcher,
  job: JobRecord,
  runtime: JobRuntime,
  error: unknown,
): Promise<void> {
  const log: Logger = deps.logFor(job);
  // A job whose video is already posted is never refunded: it keeps trying to record and charge
  // it (the store or Discord is down, not the job). Undoing and settling are retried forever too.
  const keepTrying =
    job.discord.resultMessageId !== undefined || job.state === 'failed' || job.state === 'accepting';
  if (runtime.retries.step < STEP_RETRIES || keepTrying) {
    const inMs = backoffMs(Math.min(runtime.retries.step++, 6));
    log.error({ err: error, state: job.state, retryInMs: inMs }, 'job step failed; retrying');
    return engine.wake(job, inMs);
  }
  log.error({ err: error, state: job.state }, 'job step kept failing; refunding');
  try {
    const failed = await deps.save(job, { state: 'failed', failure: storedFailure({ code: 'internal' }) });
    engine.wake(failed, 0);
  } catch (e) {
    // Keep it scheduled: a member whose job is stuck open would wait in line forever.
    log.error({ err: e }, 'could not record the failed job; trying again later');
    engine.wake(job, backoffMs(6));
  }
}
