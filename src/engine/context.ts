// What a job step works with: the engine's dependencies (the same for every job, built once in
// the composition root), the job's runtime (counters and bytes that need not survive a restart),
// and what a step hands back to the dispatcher (`Next`).
import type { Failure } from '../failures.js';
import type { Logger } from '../logger.js';
import type { MediaBudget } from '../media/budget.js';
import type { Http } from '../net/http.js';
import type { ModelId } from '../providers/catalog.js';
import type { PollResult, PromptOptimizer, ProviderId, VideoProvider } from '../providers/types.js';
import type { JobRecord, JobStore } from '../store/jobs.js';
import type { SlotStore } from '../store/slots.js';
import { scopeFor, type AccountRef, type Allowance, type Economy, type SpendCap } from '../store/economy.js';
import type { Clock } from './clock.js';
import type { Delivery } from './delivery.js';
import type { RunTimes } from './run-times.js';
import type { Telemetry } from './telemetry.js';

export interface EngineSettings {
  /** Typical run time per model, submit to finished video: the starting point of what is learned. */
  expectedRunMs: Readonly<Record<ModelId, number>>;
  jobDeadlineMs: number;
  outputMaxBytes: number;
  outputDownloadTimeoutMs: number;
  maxActivePerMember: number;
  /** A member's reruns are at least this far apart (RERUN_COOLDOWN_S); absent = no wait. */
  rerunCooldownMs?: number;
  /** CREDITS_SCOPE: a balance per member per server, or one per member. */
  creditsScope: 'guild' | 'global';
  /** Retries of a submit the provider proved it did not take (429, connection refused). */
  submitAttempts: number;
  /** Attempts at a transient upload failure before the source URL is submitted instead. */
  uploadAttempts: number;
  /** Consecutive failed polls (429/5xx/network) before the job is given up. */
  pollFailureLimit: number;
  /** Failed delivery attempts (Discord down) before the job is refunded. */
  deliveryAttempts: number;
  /** Concurrent running jobs per provider; absent = no cap. */
  providerCaps: Partial<Record<ProviderId, number>>;
  /** Move a Flash job to the other provider when its own is down. */
  failover: boolean;
  /** What to do with a video the provider flagged as possibly sensitive, outside age-restricted channels. */
  nsfwPolicy: 'spoiler' | 'block';
  /** Bytes of media (downloaded videos) held in memory at once; deliveries wait for room. */
  mediaMemoryBytes: number;
  /** How long the prompt enhancer may take before the member's own prompt is used; default 60 s. */
  enhanceWaitMs?: number;
}

export const ENGINE_DEFAULTS = {
  submitAttempts: 3,
  uploadAttempts: 3,
  pollFailureLimit: 12,
  deliveryAttempts: 8,
  mediaMemoryBytes: 256 * 1024 * 1024,
} as const;

/** What a server's settings mean for accepting a job there. */
export interface Policy {
  allowance?: Allowance;
  cap?: SpendCap;
  /** Running jobs per member in this server (overrides maxActivePerMember). */
  jobLimit?: number;
}

/** The account a job's credits are held in. */
export function accountOf(settings: Pick<EngineSettings, 'creditsScope'>, job: JobRecord): AccountRef {
  // A job from before scopes names none: its member's old balance moves, with this hold, into
  // the scope where they next act (the economy follows it there; docs/economy.md, "Migration").
  return { scope: job.scope ?? scopeFor(settings.creditsScope, job.guildId), userId: job.userId };
}

/** What a job's hold is for, in the ledger (`/credits` lists it). */
export function holdNote(
  request: Pick<JobRecord['request'], 'model' | 'durationSeconds' | 'enhance'>,
): string {
  return `${request.model} ${request.durationSeconds}s${request.enhance ? ' + prompt enhancer' : ''}`;
}

/** What the engine is built from, in the composition root. */
export interface EngineDeps {
  settings: EngineSettings;
  log: Logger;
  economy: Economy;
  /** A server's money rules (null: a DM), read at each acceptance so an admin's change applies at once. */
  policy(guildId: string | null): Promise<Policy>;
  jobs: JobStore;
  /** Running-job slots shared with the other processes on the store; absent = this process alone. */
  sharedSlots?: SlotStore;
  /**
   * Whether this process runs a job found open at start: a shard resumes only the jobs of its
   * own guilds, and leaves the others to theirs (docs/sharding.md). Absent = every job.
   */
  owns?: (job: JobRecord) => boolean;
  providers: ReadonlyMap<ModelId, VideoProvider>;
  /** WaveSpeed's prompt optimizer (`/animate enhance`); absent without a WaveSpeed key. */
  optimizer?: PromptOptimizer | undefined;
  http: Http;
  delivery: Delivery;
  clock: Clock;
  /** Where job ends, polls, spends and posts are counted (the metrics); absent = not counted. */
  telemetry?: Telemetry | undefined;
}

/** The engine's dependencies as a step sees them, plus the few engine services steps share. */
export interface StepDeps extends EngineDeps {
  telemetry: Telemetry;
  /** Expected run time and spread per model, learned from the completions we see. */
  runTimes: RunTimes;
  /** The one budget for media bytes in memory, shared by every delivery. */
  media: MediaBudget;
  /** Aborted when the engine stops: provider calls and downloads give up at once. */
  signal: AbortSignal;
  /** Writes the job with `patch` applied; the engine's copy changes only once the write succeeded. */
  save(job: JobRecord, patch: Partial<JobRecord>): Promise<JobRecord>;
  /** When to poll a submitted job next, from the learned run time. */
  nextPollInMs(job: JobRecord): number;
  /**
   * The admission slots: whether a job holds one here, its claim on the store's slots (false:
   * another process holds them, and the job waits again), and moving it to another provider.
   */
  slots: {
    isRunning(jobId: string): boolean;
    claim(job: JobRecord): Promise<boolean>;
    move(jobId: string, provider: ProviderId): boolean;
  };
  logFor(job: JobRecord): Logger;
}

/** Per-job facts that need not survive a restart. */
export interface JobRuntime {
  retries: { submit: number; upload: number; poll: number; deliver: number; step: number; enhance: number };
  lastStatusEditAt: number;
  /** A status edit held back by the 5 s spacing: the latest job to show, sent when its timer fires. */
  statusPending?: { job: JobRecord; timer: unknown } | undefined;
  /** Input image bytes from the request, until they are in the provider's storage. */
  images: { main?: Uint8Array; end?: Uint8Array };
  /** Loaded from the store at start: its status message may exist without being recorded. */
  resumed: boolean;
  /**
   * What a push said since the last poll step (docs/push.md): the job ended (look now), or a
   * status from fal's stream (applied without a request). Read and cleared by the poll step.
   */
  pushed?:
    | { kind: 'ended' }
    | { kind: 'progress'; result: Extract<PollResult, { state: 'queued' | 'running' }> }
    | undefined;
  /** fal's status stream for this job: connecting, open (events arrive), or given up. */
  stream?: { state: 'connecting' | 'open' | 'closed' | 'failed'; abort: AbortController } | undefined;
}

export function newRuntime(resumed: boolean): JobRuntime {
  return {
    retries: { submit: 0, upload: 0, poll: 0, deliver: 0, step: 0, enhance: 0 },
    lastStatusEditAt: 0,
    images: {},
    resumed,
  };
}

/**
 * What a step asks the dispatcher to do next. Steps never call each other: a step does one
 * stage's work, writes what must be durable, and returns one of these.
 */
export type Next =
  /** Run the step of the job's (new) state right away. */
  | { do: 'continue'; job: JobRecord }
  /** Run the job's step again after `inMs` (a poll, a retry). */
  | { do: 'wake'; job: JobRecord; inMs: number }
  /** Nothing to do until the engine wakes it (a job waiting in line). */
  | { do: 'idle'; job: JobRecord }
  /** The job failed: the dispatcher records the failure, then runs the failure step. */
  | { do: 'fail'; job: JobRecord; failure: Failure }
  /** The job reached a terminal state. */
  | { do: 'done'; job: JobRecord };

export const next = {
  continue: (job: JobRecord): Next => ({ do: 'continue', job }),
  wake: (job: JobRecord, inMs: number): Next => ({ do: 'wake', job, inMs }),
  idle: (job: JobRecord): Next => ({ do: 'idle', job }),
  fail: (job: JobRecord, failure: Failure): Next => ({ do: 'fail', job, failure }),
  done: (job: JobRecord): Next => ({ do: 'done', job }),
};

export type Step = (deps: StepDeps, job: JobRecord, runtime: JobRuntime) => Promise<Next>;
