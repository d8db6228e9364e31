// The job engine: takes accepted requests, drives every job through the state machine on one
// scheduler, resumes open jobs at start and hands finished ones back to Discord via Delivery.
import { randomBytes } from 'node:crypto';
import { storedFailure } from '../failures.js';
import { MODELS, type ModelId } from '../providers/catalog.js';
import { TERMINAL_STATES, type JobRecord } from '../store/jobs.js';
import { KeyedLock } from '../store/lock.js';
import { backoffMs } from './backoff.js';
import { endImageKey, type EngineDeps, type StepContext } from './context.js';
import { Admission } from './admission.js';
import { createRunTimes, runTimesSnapshot } from './run-times.js';
import { Scheduler } from './scheduler.js';
import { fail, runStep } from './steps.js';

export type JobRequest = JobRecord['request'];

export type PriceQuery = Pick<JobRequest, 'model' | 'aspectRatio' | 'durationSeconds' | 'resolution'>;

export interface AcceptInput {
  userId: string;
  guildId: string | null;
  channelId: string;
  attachmentSizeLimit: number;
  request: JobRequest;
  /** The input image bytes already fetched and checked, to upload without fetching again. */
  imageBytes?: Uint8Array;
  endImageBytes?: Uint8Array;
  rerunOf?: string;
}

export type AcceptResult =
  | { ok: true; job: JobRecord; balance: number }
  | { ok: false; code: 'insufficient_credits'; balance: number; price: number }
  | { ok: false; code: 'model_unavailable' };

export interface Engine {
  available(model: ModelId): boolean;
  price(request: PriceQuery): number;
  accept(input: AcceptInput): Promise<AcceptResult>;
  /** The job behind a result message, for 🔁; undefined when the message is not one of ours. */
  jobForResult(messageId: string): Promise<JobRecord | undefined>;
  job(id: string): Promise<JobRecord | undefined>;
  /** Loads every unfinished job and carries on with it. Returns how many. */
  resume(): Promise<number>;
  stop(): Promise<void>;
}

/** Unexpected errors in a step are retried this many times before the job is refunded. */
const STEP_RETRIES = 5;
/** Learned run times are written at most this often (they change a little with every job). */
const RUN_TIMES_SAVE_MS = 60_000;

export function createEngine(deps: EngineDeps): Engine {
  const { log, jobs, clock } = deps;
  const active = new Map<string, JobRecord>();
  const counters = new Map<string, ReturnType<StepContext['attempts']>>();
  const scheduler = new Scheduler({
    clock,
    onError: (key, error) => log.error({ err: error, jobId: key }, 'scheduler task failed'),
  });

  const remember = (job: JobRecord, patch: Partial<JobRecord>): JobRecord => {
    const next = { ...job, ...patch, updatedAt: clock.now() };
    if (!TERMINAL_STATES.has(next.state)) active.set(next.id, next);
    return next;
  };

  const ctx: StepContext = {
    ...deps,
    runTimes: createRunTimes(deps.settings.expectedRunMs),
    imageCache: new Map(),
    async persist(job, patch) {
      const next = { ...job, ...patch, updatedAt: clock.now() };
      await jobs.save(next);
      return remember(next, {});
    },
    remember,
    wake: (job, delayMs) => scheduler.in(job.id, delayMs, () => step(job.id)),
    attempts(jobId) {
      let c = counters.get(jobId);
      if (!c) counters.set(jobId, (c = { submit: 0, poll: 0, deliver: 0, step: 0, lastStatusEditAt: 0 }));
      return c;
    },
    finished(job) {
      if (job.state === 'delivered') saveRunTimesSoon();
      active.delete(job.id);
      counters.delete(job.id);
      ctx.imageCache.delete(job.id);
      ctx.imageCache.delete(endImageKey(job.id));
      admission.forget(job.userId, active.values());
      void pump().catch((error: unknown) => log.error({ err: error }, 'could not start a waiting job'));
    },
    logFor: (job) => log.child({ jobId: job.id, userId: job.userId, model: job.runModel }),
  };

  /**
   * Runs `fn` on the job's latest record, never beside another step of the same job: two
   * overlapping steps could each persist their own copy (a lost update) or, in `accepted`,
   * submit twice.
   */
  const jobLocks = new KeyedLock();
  const withJob = (id: string, fn: (job: JobRecord) => Promise<void>): Promise<void> =>
    jobLocks.run(id, async () => {
      const job = active.get(id);
      if (job) await fn(job);
    });

  const saveRunTimes = () =>
    jobs
      .saveMeta('run-times', ctx.runTimes.snapshot())
      .catch((error: unknown) => log.warn({ err: error }, 'could not save learned run times'));
  let saveTimer: unknown;
  /** Learned run times change a little with every delivery: write them at most once a minute. */
  function saveRunTimesSoon(): void {
    if (saveTimer !== undefined) return;
    saveTimer = clock.setTimer(() => {
      saveTimer = undefined;
      void saveRunTimes();
    }, RUN_TIMES_SAVE_MS);
  }

  function step(id: string): Promise<void> {
    return withJob(id, (job) => runGuarded(id, job));
  }

  async function runGuarded(id: string, job: JobRecord): Promise<void> {
    try {
      await runStep(ctx, job);
      // (Not ctx.attempts: that would re-create the counters of a job that just finished.)
      const c = counters.get(id);
      if (c) c.step = 0;
    } catch (error) {
      const current = active.get(id) ?? job;
      const attempts = ctx.attempts(id);
      const jobLog = ctx.logFor(current);
      // A job whose video is already posted is never refunded: it keeps trying to record and
      // charge it (the store or Discord is down, not the job).
      if (attempts.step < STEP_RETRIES || current.discord.resultMessageId || current.state === 'failed') {
        const delay = backoffMs(Math.min(attempts.step++, 6));
        jobLog.error({ err: error, state: current.state, retryInMs: delay }, 'job step failed; retrying');
        ctx.wake(current, delay);
        return;
      }
      jobLog.error({ err: error, state: current.state }, 'job step kept failing; refunding');
      await fail(ctx, current, { code: 'internal' }).catch((e: unknown) => {
        // Keep it scheduled: a member whose job is stuck open would wait in line forever.
        jobLog.error({ err: e }, 'could not settle the failed job; trying again later');
        ctx.wake(active.get(id) ?? current, backoffMs(6));
      });
    }
  }

  const admission = new Admission({
    maxActivePerMember: deps.settings.maxActivePerMember,
    providerCaps: deps.settings.providerCaps,
  });
  const pumpLock = new KeyedLock();

  /** Starts every waiting job that may start now, members taking turns; then updates places in line. */
  function pump(): Promise<void> {
    return pumpLock.run('pump', async () => {
      for (let next = admission.next(active.values()); next; next = admission.next(active.values())) {
        await withJob(next.id, async (job) => {
          if (job.state !== 'waiting') return;
          const started = await ctx.persist(job, {
            state: 'accepted',
            deadlineAt: clock.now() + deps.settings.jobDeadlineMs,
          });
          ctx.wake(started, 0);
        });
      }
      for (const [id, position] of admission.positions(active.values())) {
        const job = active.get(id);
        if (!job || job.progress?.position === position) continue;
        const waiting = ctx.remember(job, { progress: { phase: 'waiting', position, polls: 0 } });
        // Places in line change often; the status edit is throttled per job.
        ctx.wake(waiting, 0);
      }
    });
  }

  const price = (request: PriceQuery) =>
    MODELS[request.model].price({
      aspectRatio: request.aspectRatio,
      durationSeconds: request.durationSeconds,
      ...(request.resolution ? { resolution: request.resolution } : {}),
    });

  return {
    available: (model) => deps.providers.has(model),
    price,

    async accept(input) {
      if (!deps.providers.has(input.request.model)) return { ok: false, code: 'model_unavailable' };
      const now = clock.now();
      const job: JobRecord = {
        id: randomBytes(10).toString('base64url'),
        state: 'accepted',
        userId: input.userId,
        guildId: input.guildId,
        channelId: input.channelId,
        ...(input.rerunOf ? { rerunOf: input.rerunOf } : {}),
        request: input.request,
        price: price(input.request),
        runModel: input.request.model,
        discord: { attachmentSizeLimit: input.attachmentSizeLimit },
        createdAt: now,
        updatedAt: now,
        deadlineAt: now + deps.settings.jobDeadlineMs,
      };
      if (admission.shouldWait(job, active.values())) job.state = 'waiting';
      // Record first, then hold: a crash in between leaves a job that re-holds on resume,
      // never credits held for a job nobody knows about.
      await jobs.create(job);
      const held = await deps.ledger.reserve(
        job.userId,
        job.id,
        job.price,
        `${job.request.model} ${job.request.durationSeconds}s`,
      );
      if (!held.ok) {
        await jobs.save({
          ...job,
          state: 'refunded',
          failure: storedFailure({ code: 'insufficient_credits', price: job.price, balance: held.balance }),
        });
        return { ok: false, code: 'insufficient_credits', balance: held.balance, price: job.price };
      }
      if (input.imageBytes) ctx.imageCache.set(job.id, input.imageBytes);
      if (input.endImageBytes) ctx.imageCache.set(endImageKey(job.id), input.endImageBytes);
      remember(job, {});
      ctx.logFor(job).info({ price: job.price, state: job.state, rerunOf: job.rerunOf }, 'job accepted');
      ctx.wake(job, 0);
      if (job.state === 'waiting') await pump();
      return { ok: true, job, balance: held.balance };
    },

    async jobForResult(messageId) {
      const id = await jobs.jobForResultMessage(messageId);
      return id === undefined ? undefined : jobs.get(id);
    },

    job: (id) => jobs.get(id),

    async resume() {
      const learned = runTimesSnapshot.safeParse(await jobs.loadMeta('run-times'));
      if (learned.success) ctx.runTimes.restore(learned.data);
      const open = await jobs.listOpen();
      // Jobs accepted since the start are already live (and newer than what was read).
      for (const job of open) if (!active.has(job.id)) remember(job, {});
      for (const job of open) ctx.wake(job, 0);
      await pump();
      if (open.length > 0) log.info({ jobs: open.length }, 'resumed open jobs');
      return open.length;
    },

    async stop() {
      await scheduler.stop();
      if (saveTimer !== undefined) {
        clock.clearTimer(saveTimer);
        saveTimer = undefined;
        await saveRunTimes();
      }
    },
  };
}
