// The job engine: the intake (quote, accept, rerun), admission (who runs now, who waits), one
// scheduler that wakes every job, and resume at start. What happens to one job is in
// lifecycle.ts; this file only decides when its steps run, never two of one job at once.
import { jobFields } from '../logger.js';
import { randomBytes } from 'node:crypto';
import { createMediaBudget } from '../media/budget.js';
import { download } from '../net/download.js';
import { storedFailure, type Failure } from '../failures.js';
import { ENHANCE_PRICE, MODELS } from '../providers/catalog.js';
import { TERMINAL_STATES, type JobRecord, type JobState } from '../store/jobs.js';
import { KeyedLock } from '../store/lock.js';
import { Admission } from './admission.js';
import {
  holdNote,
  newRuntime,
  type Policy,
  type EngineDeps,
  type JobRuntime,
  type StepDeps,
} from './context.js';
import { rerunRequest } from './enhance.js';
import { runJob, type Dispatcher } from './lifecycle.js';
import { nextDelayFor, POLLING, STREAM_SAFETY_NET, WEBHOOK_SAFETY_NET } from './poll-schedule.js';
import { backoffMs } from './backoff.js';
import { ProviderError } from '../providers/errors.js';
import type { ProviderId } from '../providers/types.js';
import { createRunTimes, runTimesSnapshot } from './run-times.js';
import { Scheduler } from './scheduler.js';
import { etaSecondsFor } from './steps/status.js';
import { NO_TELEMETRY, outcomeOf } from './telemetry.js';
import { scopeFor } from '../store/economy.js';
import { LOCAL_SLOTS } from '../store/slots.js';
import { nextPeriodStart } from '../store/periods.js';

/** What a member asked for, before any images. */
export type AnimateRequest = Omit<JobRecord['request'], 'image' | 'endImage'>;

/** An input image already fetched and checked by its bytes. */
export interface InputImage {
  sourceUrl: string;
  bytes: Uint8Array;
  contentType: string;
  extension: string;
}

/** Who asks, and where the status message and result go. */
export interface Requester {
  userId: string;
  guildId: string | null;
  channelId: string;
  /** The interaction's upload limit (bytes). */
  attachmentSizeLimit: number;
}

export type Quote = { ok: true; price: number; balance: number } | { ok: false; failure: Failure };
export type AcceptResult =
  | {
      ok: true;
      job: JobRecord;
      balance: number;
      /** Why a job waits: the member's own running jobs, or a provider (or the store) with no room. */
      waitsFor?: 'your_jobs' | 'a_slot';
    }
  | { ok: false; failure: Failure };

export interface Engine {
  /** Whether `/animate enhance` can run here: WaveSpeed's prompt optimizer is configured. */
  readonly canEnhance: boolean;
  /**
   * The price of a request, or why it cannot be had (model off, not enough credits). Writes
   * nothing but what the member's next action would anyway (a due allowance, a migration).
   */
  quote(requester: Pick<Requester, 'userId' | 'guildId'>, request: AnimateRequest): Promise<Quote>;
  /** Accepts a request: holds its price and starts (or queues) it. All or nothing. */
  accept(
    input: Requester & { request: AnimateRequest; image: InputImage; endImage?: InputImage },
  ): Promise<AcceptResult>;
  /** The same request as `original`, for `requester`, on the images the original kept. */
  rerun(requester: Requester, original: JobRecord): Promise<AcceptResult>;
  /** The job behind a result message, for 🔁; undefined when the message is not one of ours. */
  jobForResult(messageId: string): Promise<JobRecord | undefined>;
  job(id: string): Promise<JobRecord | undefined>;
  /** A member's open jobs in one server (null: DMs), oldest first, as this process runs them. */
  openJobsOf(userId: string, guildId: string | null): JobRecord[];
  /** Expected finish (ms) of an open job, when it can be told. */
  expectedFinishAt(job: JobRecord): number | undefined;
  /**
   * Stops a job that has not started posting its result: cancelled at the provider where it can
   * be (fal), refunded in full, the member told, and no result posted later. Runs between two
   * of the job's steps, so a cancel racing a completion ends in exactly one of the two.
   */
  cancel(jobId: string, by: string): Promise<'cancelled' | 'too_late' | 'unknown'>;
  /**
   * A verified webhook said the provider's task ended: its job's next poll runs now (docs/push.md).
   * False when no open job of this process has that task (another process's, or already over).
   */
  hint(provider: ProviderId, taskId: string): boolean;
  /** This process's open jobs by state, and how many of them wait their turn (read by the metrics). */
  stats(): EngineStats;
  /** Loads every unfinished job this process owns (EngineDeps.owns) and carries on with it. Returns how many. */
  resume(): Promise<number>;
  stop(): Promise<void>;
}

export interface EngineStats {
  /** Open jobs per state; a state no job is in is absent. */
  states: Partial<Record<JobState, number>>;
  /** Jobs waiting for a running slot (the member's, a provider's or the store's). */
  waiting: number;
}

/** States a Cancel can stop: nothing has been posted yet, and the job is not already ending. */
const CANCELLABLE: ReadonlySet<JobRecord['state']> = new Set([
  'waiting',
  'accepted',
  'enhancing',
  'submitted',
  'succeeded',
]);

/** fal status streams open at once; jobs beyond it are polled. */
const MAX_STREAMS = 512;
/** Connections a job's status stream gets (the first and the reconnects) before it is polled. */
const STREAM_ATTEMPTS = 4;

/** Learned run times are written at most this often (they change a little with every job). */
const RUN_TIMES_SAVE_MS = 60_000;

export function createEngine(deps: EngineDeps): Engine {
  const { log, jobs, clock, economy, settings } = deps;
  /** The latest copy of every open job, and each one's runtime. */
  const active = new Map<string, JobRecord>();
  const runtimes = new Map<string, JobRuntime>();
  const stopping = new AbortController();
  const scheduler = new Scheduler({
    clock,
    onError: (key, error) => log.error({ err: error, jobId: key }, 'scheduler task failed'),
  });
  const admission = new Admission({
    maxActivePerMember: settings.maxActivePerMember,
    providerCaps: settings.providerCaps,
  });
  const runTimes = createRunTimes(settings.expectedRunMs);

  /** Open jobs by their provider task (`provider:taskId`), for webhooks. */
  const byTask = new Map<string, string>();
  const taskKey = (provider: ProviderId, taskId: string) => `${provider}:${taskId}`;
  const keep = (job: JobRecord): JobRecord => {
    if (TERMINAL_STATES.has(job.state)) return job;
    active.set(job.id, job);
    const provider = job.providerRef && deps.providers.get(job.runModel)?.provider;
    if (provider && job.providerRef) byTask.set(taskKey(provider, job.providerRef.id), job.id);
    return job;
  };
  const runtimeOf = (id: string): JobRuntime => {
    let r = runtimes.get(id);
    if (!r) runtimes.set(id, (r = newRuntime(false)));
    return r;
  };

  const telemetry = deps.telemetry ?? NO_TELEMETRY;
  const stepDeps: StepDeps = {
    ...deps,
    telemetry,
    runTimes,
    media: createMediaBudget(settings.mediaMemoryBytes),
    signal: stopping.signal,
    async save(job, patch) {
      const saved = { ...job, ...patch, updatedAt: clock.now() };
      await jobs.save(saved);
      return keep(saved);
    },
    nextPollInMs(job) {
      const elapsed = clock.now() - (job.progress?.submittedAt ?? clock.now());
      // A job the provider pushes to is polled only as a safety net (docs/push.md).
      const shape = job.providerRef?.webhook
        ? WEBHOOK_SAFETY_NET
        : runtimes.get(job.id)?.stream?.state === 'open'
          ? STREAM_SAFETY_NET
          : POLLING;
      return nextDelayFor(shape, elapsed, {
        expectedMs: runTimes.expected(job.runModel),
        cv: runTimes.cv(job.runModel),
      });
    },
    slots: {
      isRunning: (id) => admission.isRunning(id),
      claim: (job) => claimSlot(job),
      move: (id, provider) => admission.move(id, provider),
    },
    logFor: (job) => log.child(jobFields(job)),
  };

  const dispatcher: Dispatcher = {
    // A push that came while the step ran is not lost to the step's own (later) wake-up.
    wake: (job, inMs) => wake(job.id, runtimes.get(job.id)?.pushed && job.state === 'submitted' ? 0 : inMs),
    latest: (id) => active.get(id),
    setLatest: keep,
    finished(job) {
      if (job.state === 'delivered') saveRunTimesSoon();
      if (active.delete(job.id)) {
        const outcome = outcomeOf(job);
        const failure = outcome !== 'delivered' && job.failure ? { failure: job.failure.code } : {};
        telemetry.jobEnded({ model: job.runModel, outcome, ...failure });
      }
      runtimes.get(job.id)?.stream?.abort.abort(new Error('the job ended'));
      runtimes.delete(job.id);
      const provider = job.providerRef && deps.providers.get(job.runModel)?.provider;
      if (provider && job.providerRef) byTask.delete(taskKey(provider, job.providerRef.id));
      scheduler.cancel(job.id);
      const claim = admission.claimOf(job.id);
      admission.release(job.id);
      if (claim)
        slotStore
          .release(job.id, claim.member)
          // Not fatal: the next claim for that member frees a slot whose job has finished.
          .catch((error: unknown) =>
            log.warn({ err: error, ...jobFields(job) }, 'could not free a running slot'),
          );
      pump();
    },
  };

  /**
   * Runs the job's steps on its latest record, never beside another step of the same job: two
   * overlapping steps could each save their own copy (a lost update) or, in `accepted`, submit twice.
   */
  const jobLocks = new KeyedLock();
  function wake(id: string, inMs: number): void {
    const job = active.get(id);
    if (job?.state === 'submitted') follow(job);
    scheduler.in(id, inMs, () =>
      jobLocks.run(id, async () => {
        const job = active.get(id);
        if (job) await runJob(stepDeps, dispatcher, job, runtimeOf(id));
      }),
    );
  }

  /**
   * Follows a submitted fal job over its status stream when no webhook will come (docs/push.md,
   * "fal's status stream"): each event wakes the job's poll step, which applies it as it would a
   * poll. A stream that keeps failing is given up and the job is polled on the usual schedule.
   */
  let streamsOpen = 0;
  const pause = (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      const timer = clock.setTimer(done, ms);
      function done() {
        clock.clearTimer(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  function follow(job: JobRecord): void {
    const provider = deps.providers.get(job.runModel);
    const ref = job.providerRef;
    const runtime = runtimeOf(job.id);
    if (!provider?.follow || !ref || ref.webhook || runtime.stream || stopping.signal.aborted) return;
    if (streamsOpen >= MAX_STREAMS) return;
    const abort = new AbortController();
    runtime.stream = { state: 'connecting', abort };
    streamsOpen++;
    const signal = AbortSignal.any([stopping.signal, abort.signal]);
    const jobLog = stepDeps.logFor(job);
    const open = provider.follow.bind(provider);
    void (async () => {
      for (let attempt = 1; attempt <= STREAM_ATTEMPTS && !signal.aborted; attempt++) {
        try {
          for await (const event of open(ref, signal)) {
            const opened = runtime.stream?.state === 'connecting';
            if (runtime.stream) runtime.stream.state = 'open';
            if (opened) jobLog.debug({ attempt }, 'following the status stream');
            if (event.state === 'completed') runtime.pushed = { kind: 'ended' };
            else if (runtime.pushed?.kind !== 'ended') runtime.pushed = { kind: 'progress', result: event };
            if (active.get(job.id)?.state === 'submitted') wake(job.id, 0);
          }
          if (runtime.stream) runtime.stream.state = 'closed';
          return;
        } catch (error) {
          if (signal.aborted) return;
          // Refused outright (no stream here, our key): asking again cannot help.
          if (error instanceof ProviderError && !error.retryable) attempt = STREAM_ATTEMPTS;
          // A quarter of the usual back-off (0.13–0.25 s, then 0.25–0.5 s, 0.5–1 s): a stream that
          // broke is usually reopened at once, and polling takes over within two seconds anyway.
          const inMs = Math.round(backoffMs(attempt - 1) / 4);
          jobLog.warn(
            { err: error, attempt, ...(attempt < STREAM_ATTEMPTS ? { retryInMs: inMs } : {}) },
            attempt < STREAM_ATTEMPTS
              ? 'status stream failed; reconnecting'
              : 'status stream failed; polling instead',
          );
          if (attempt < STREAM_ATTEMPTS) await pause(inMs, signal);
        }
      }
      if (signal.aborted || !runtime.stream) return;
      runtime.stream.state = 'failed';
      // The sparse safety-net poll gives way to the usual schedule.
      const latest = active.get(job.id);
      if (latest?.state === 'submitted') wake(job.id, stepDeps.nextPollInMs(latest));
    })().finally(() => {
      streamsOpen--;
    });
  }

  const slotStore = deps.sharedSlots ?? LOCAL_SLOTS;
  /** How long a job whose store slot was refused waits before it asks again. */
  const SLOT_RETRY_MS = 1000;
  let pumpTimer: unknown;
  function pumpSoon(inMs: number): void {
    if (pumpTimer !== undefined || stopping.signal.aborted) return;
    pumpTimer = clock.setTimer(() => {
      pumpTimer = undefined;
      pump();
    }, inMs);
  }

  /**
   * A job this process started claims its slot in the store, where the other processes on it
   * count theirs. Refused (or the store failed): it waits again and asks later.
   */
  async function claimSlot(job: JobRecord): Promise<boolean> {
    const claim = admission.claimOf(job.id);
    if (!claim) return false;
    const cap = settings.providerCaps[claim.provider];
    const ok = await slotStore
      .claim({ jobId: job.id, ...claim, ...(cap !== undefined ? { cap } : {}) })
      .catch((error: unknown) => {
        log.warn({ err: error, ...jobFields(job) }, 'could not claim a running slot; the job waits');
        return false;
      });
    if (!ok) {
      admission.unstart(job.id, clock.now() + SLOT_RETRY_MS);
      pumpSoon(SLOT_RETRY_MS);
    }
    return ok;
  }

  /** Starts every waiting job that may start now, members taking turns; then updates places in line. */
  function pump(): void {
    for (let id = admission.next(clock.now()); id; id = admission.next(clock.now())) wake(id, 0);
    for (const [id, position] of admission.positions()) {
      const job = active.get(id);
      if (!job || job.state !== 'waiting' || job.progress?.position === position) continue;
      // Places in line change often: kept in memory, shown by the (throttled) waiting step.
      active.set(id, { ...job, progress: { phase: 'waiting', position, polls: 0 } });
      wake(id, 0);
    }
  }

  const saveRunTimes = () =>
    jobs
      .saveMeta('run-times', runTimes.snapshot())
      .catch((error: unknown) => log.warn({ err: error }, 'could not save learned run times'));
  let saveTimer: unknown;
  function saveRunTimesSoon(): void {
    if (saveTimer !== undefined) return;
    saveTimer = clock.setTimer(() => {
      saveTimer = undefined;
      void saveRunTimes();
    }, RUN_TIMES_SAVE_MS);
  }

  /** The model's price, and the prompt enhancer's credit when it is asked for. */
  const price = (request: AnimateRequest): number =>
    MODELS[request.model].price({
      aspectRatio: request.aspectRatio,
      durationSeconds: request.durationSeconds,
      ...(request.resolution ? { resolution: request.resolution } : {}),
    }) + (request.enhance ? ENHANCE_PRICE : 0);

  /** `enhance` without WaveSpeed's optimizer is refused like any option the bot cannot honour. */
  const unsupported = (request: AnimateRequest): Failure | undefined =>
    request.enhance && !deps.optimizer
      ? { code: 'unsupported_option', model: request.model, option: 'enhance' }
      : undefined;

  const accountFor = (requester: Pick<Requester, 'userId' | 'guildId'>) => ({
    scope: scopeFor(settings.creditsScope, requester.guildId),
    userId: requester.userId,
  });

  /** When a member short of credits gets more by themselves: the allowance's next top-up. */
  const allowanceAt = (policy: Policy): { allowanceAt?: number } =>
    policy.allowance && policy.allowance.amount > 0
      ? { allowanceAt: nextPeriodStart(policy.allowance.period, clock.now()) }
      : {};

  async function quote(
    requester: Pick<Requester, 'userId' | 'guildId'>,
    request: AnimateRequest,
  ): Promise<Quote> {
    if (!deps.providers.has(request.model))
      return { ok: false, failure: { code: 'model_unavailable', model: request.model } };
    const refused = unsupported(request);
    if (refused) return { ok: false, failure: refused };
    const cost = price(request);
    const policy = await deps.policy(requester.guildId);
    const { free } = await economy.wallet(accountFor(requester), policy.allowance);
    if (free < cost)
      return {
        ok: false,
        failure: { code: 'insufficient_credits', price: cost, balance: free, ...allowanceAt(policy) },
      };
    return { ok: true, price: cost, balance: free };
  }

  /**
   * Acceptance is all or nothing. The record is written first as `accepting`, then the hold,
   * then the record as `accepted` or `waiting`: a crash or a store error anywhere before that
   * last write leaves an `accepting` record, which is undone (any hold refunded, nothing sent)
   * here or at the next start. After it, the job lives and nothing may report a failure.
   */
  async function admit(
    requester: Requester,
    request: JobRecord['request'],
    images: JobRuntime['images'],
    rerunOf?: string,
  ): Promise<AcceptResult> {
    if (!deps.providers.has(request.model))
      return {
        ok: false,
        failure: { code: 'model_unavailable', model: request.model, ...(rerunOf ? { rerun: true } : {}) },
      };
    const refused = unsupported(request);
    if (refused) return { ok: false, failure: refused };
    const now = clock.now();
    const policy = await deps.policy(requester.guildId);
    const account = accountFor(requester);
    let job: JobRecord = {
      id: randomBytes(10).toString('base64url'),
      state: 'accepting',
      userId: requester.userId,
      guildId: requester.guildId,
      channelId: requester.channelId,
      scope: account.scope,
      ...(rerunOf ? { rerunOf } : {}),
      request,
      price: price(request),
      ...(request.enhance ? { enhance: { state: 'pending' as const } } : {}),
      runModel: request.model,
      discord: { attachmentSizeLimit: requester.attachmentSizeLimit },
      createdAt: now,
      updatedAt: now,
      deadlineAt: now + settings.jobDeadlineMs,
    };
    // Decided and recorded in one synchronous call: simultaneous requests see each other.
    let lane = admission.admit(job, policy.jobLimit ?? settings.maxActivePerMember);
    try {
      await jobs.create(job);
    } catch (error) {
      admission.release(job.id);
      throw error;
    }
    let held;
    try {
      held = await economy.hold({
        account,
        jobId: job.id,
        amount: job.price,
        note: holdNote(request),
        ...(policy.allowance ? { allowance: policy.allowance } : {}),
        ...(policy.cap ? { cap: policy.cap } : {}),
      });
    } catch (error) {
      undoLater(job);
      throw error;
    }
    if (!held.ok) {
      const rerun = rerunOf ? { rerun: true } : {};
      const failure: Failure =
        held.reason === 'cap'
          ? { code: 'server_cap', resetsAt: held.resetsAt, ...rerun }
          : {
              code: 'insufficient_credits',
              price: job.price,
              balance: held.free,
              ...allowanceAt(policy),
              ...rerun,
            };
      admission.release(job.id);
      await jobs
        .save({ ...job, state: 'refunded', failure: storedFailure(failure), finishedAt: now })
        .catch((error: unknown) => {
          // Still `accepting` in the store (it never held anything): closed by the undo step.
          log.warn({ err: error, ...jobFields(job) }, 'could not close a refused request');
          undoLater(job);
        });
      return { ok: false, failure };
    }
    if (lane === 'run' && !(await claimSlot(job))) lane = 'wait';
    try {
      job = {
        ...job,
        state: lane === 'run' ? 'accepted' : 'waiting',
        balanceAfter: held.free,
        updatedAt: clock.now(),
      };
      await jobs.save(job);
    } catch (error) {
      undoLater({ ...job, state: 'accepting' });
      throw error;
    }
    keep(job);
    runtimeOf(job.id).images = images;
    stepDeps.logFor(job).info({ price: job.price, state: job.state, rerunOf: job.rerunOf }, 'job accepted');
    wake(job.id, 0);
    pump();
    const waitsFor = job.state !== 'waiting' ? {} : { waitsFor: admission.waitsFor(job.id) };
    return { ok: true, job, balance: held.free, ...waitsFor };
  }

  /** An acceptance that failed halfway: the `accepting` step refunds any hold and closes it. */
  function undoLater(job: JobRecord): void {
    keep(job);
    wake(job.id, 0);
  }

  /** The same request as `original`, for `requester`, on the images the original kept. */
  async function rerunNow(requester: Requester, original: JobRecord): Promise<AcceptResult> {
    // An image that never reached the provider's storage lives only at Discord, whose URLs
    // expire: fetch it now, or refuse before charging anything.
    const images: JobRuntime['images'] = {};
    for (const which of ['main', 'end'] as const) {
      const image = which === 'main' ? original.request.image : original.request.endImage;
      if (!image || Object.keys(image.uploads).length > 0) continue;
      const got = await download(deps.http, image.sourceUrl, {
        maxBytes: image.bytes + 1,
        timeoutMs: 30_000,
      }).catch(() => undefined);
      if (!got?.ok) return { ok: false, failure: { code: 'input_image_gone' } };
      images[which] = got.bytes;
    }
    // The prompt it ran with (the enhancer's rewrite, when used), not enhanced or charged for again.
    return admit(requester, rerunRequest(original), images, original.id);
  }

  /** When each member last reran (this process), pruned of waits long over. */
  const lastRerunAt = new Map<string, number>();
  function rememberRerun(userId: string, at: number, cooldown: number): void {
    lastRerunAt.set(userId, at);
    if (lastRerunAt.size > 10_000)
      for (const [id, t] of lastRerunAt) if (at - t >= cooldown) lastRerunAt.delete(id);
  }

  const imageRecord = (image: InputImage): JobRecord['request']['image'] => ({
    sourceUrl: image.sourceUrl,
    filename: `input.${image.extension}`,
    contentType: image.contentType,
    bytes: image.bytes.byteLength,
    uploads: {},
  });

  return {
    canEnhance: deps.optimizer !== undefined,
    quote,

    accept: (input) =>
      admit(
        input,
        {
          ...input.request,
          image: imageRecord(input.image),
          ...(input.endImage ? { endImage: imageRecord(input.endImage) } : {}),
        },
        { main: input.image.bytes, ...(input.endImage ? { end: input.endImage.bytes } : {}) },
      ),

    async rerun(requester, original) {
      // One rerun per member per cooldown, however fast the 🔁 is toggled or the button pressed.
      // Taken at once (before any await) so simultaneous reruns see each other.
      const cooldown = settings.rerunCooldownMs ?? 0;
      const previous = lastRerunAt.get(requester.userId);
      const now = clock.now();
      if (cooldown > 0 && previous !== undefined && now - previous < cooldown)
        return { ok: false, failure: { code: 'rerun_cooldown', retryAt: previous + cooldown } };
      if (cooldown > 0) rememberRerun(requester.userId, now, cooldown);
      const result = await rerunNow(requester, original);
      // A rerun refused for another reason (credits, the image gone) does not start the wait.
      if (!result.ok && cooldown > 0 && lastRerunAt.get(requester.userId) === now) {
        if (previous === undefined) lastRerunAt.delete(requester.userId);
        else lastRerunAt.set(requester.userId, previous);
      }
      return result;
    },

    async jobForResult(messageId) {
      const id = await jobs.jobForResultMessage(messageId);
      return id === undefined ? undefined : jobs.get(id);
    },

    job: (id) => jobs.get(id),

    openJobsOf: (userId, guildId) =>
      [...active.values()]
        .filter((j) => j.userId === userId && j.guildId === guildId && j.state !== 'accepting')
        .sort((a, b) => a.createdAt - b.createdAt),

    expectedFinishAt(job) {
      const eta = etaSecondsFor(stepDeps, job, clock.now());
      return eta === undefined ? undefined : clock.now() + eta * 1000;
    },

    cancel: (id, by) =>
      jobLocks.run(id, async () => {
        const job = active.get(id);
        if (!job) return (await jobs.get(id)) === undefined ? 'unknown' : 'too_late';
        // `delivering`: the post may be on the wire; `failed`/`accepting`: already ending.
        if (!CANCELLABLE.has(job.state)) return 'too_late';
        const jobLog = stepDeps.logFor(job);
        const provider = deps.providers.get(job.runModel);
        if (job.providerRef && provider) {
          // WaveSpeed cannot cancel: its result is simply never fetched (docs/providers.md).
          await provider
            .cancel(job.providerRef, stopping.signal)
            .catch((error: unknown) => jobLog.warn({ err: error }, 'cancel at the provider failed'));
        }
        const failure: Failure = { code: 'cancelled', byRequester: by === job.userId };
        await stepDeps.save(job, { state: 'failed', failure: storedFailure(failure) });
        jobLog.info({ by, state: job.state }, 'job cancelled');
        wake(id, 0);
        return 'cancelled';
      }),

    hint(provider, taskId) {
      const id = byTask.get(taskKey(provider, taskId));
      const job = id === undefined ? undefined : active.get(id);
      if (!job || job.state !== 'submitted') return false;
      runtimeOf(job.id).pushed = { kind: 'ended' };
      wake(job.id, 0);
      return true;
    },

    stats() {
      const states: Partial<Record<JobState, number>> = {};
      for (const job of active.values()) states[job.state] = (states[job.state] ?? 0) + 1;
      return { states, waiting: admission.waitingCount };
    },

    async resume() {
      const startedAt = Date.now();
      log.debug('resuming open jobs');
      const learned = runTimesSnapshot.safeParse(await jobs.loadMeta('run-times'));
      if (learned.success) runTimes.restore(learned.data);
      const open = await jobs.listOpen();
      log.debug({ ms: Date.now() - startedAt, open: open.length }, 'read open jobs');
      // Jobs accepted since the start are already live (and newer than what was read); another
      // shard's jobs are its own to resume, even while it is down.
      const owns = deps.owns ?? (() => true);
      const mine = open.filter((job) => owns(job));
      const loaded = mine.filter((job) => !active.has(job.id));
      const limits = new Map<string | null, number>();
      for (const guildId of new Set(loaded.map((job) => job.guildId)))
        limits.set(guildId, (await deps.policy(guildId)).jobLimit ?? settings.maxActivePerMember);
      for (const job of loaded) {
        keep(job);
        runtimes.set(job.id, newRuntime(true));
        admission.restore(job, limits.get(job.guildId));
        const claim = admission.claimOf(job.id);
        if (claim && admission.isRunning(job.id))
          await slotStore.restore({ jobId: job.id, member: claim.member, provider: claim.provider });
      }
      for (const job of loaded) wake(job.id, 0);
      pump();
      const others = open.length - mine.length;
      log.info(
        { jobs: loaded.length, ...(others > 0 ? { otherShards: others } : {}), ms: Date.now() - startedAt },
        'resumed open jobs',
      );
      return loaded.length;
    },

    async stop() {
      stopping.abort(new Error('the engine is stopping'));
      if (pumpTimer !== undefined) clock.clearTimer(pumpTimer);
      pumpTimer = undefined;
      await scheduler.stop();
      if (saveTimer !== undefined) {
        clock.clearTimer(saveTimer);
        saveTimer = undefined;
        await saveRunTimes();
      }
    },
  };
}
