// What every engine step is handed: the collaborators and two primitives, persist and wake.
import type { Logger } from '../logger.js';
import type { Http } from '../net/http.js';
import type { ModelId } from '../providers/catalog.js';
import type { ProviderId, VideoProvider } from '../providers/types.js';
import type { JobRecord, JobStore } from '../store/jobs.js';
import type { Ledger } from '../store/ledger.js';
import type { Clock } from './clock.js';
import type { Delivery } from './delivery.js';
import type { RunTimes } from './run-times.js';

export interface EngineSettings {
  /** Typical run time per model, submit to finished video: the starting point of what is learned. */
  expectedRunMs: Readonly<Record<ModelId, number>>;
  jobDeadlineMs: number;
  outputMaxBytes: number;
  outputDownloadTimeoutMs: number;
  maxActivePerMember: number;
  /** Retries of a submit the provider proved it did not take (429, connection refused). */
  submitAttempts: number;
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
}

export const ENGINE_DEFAULTS = {
  submitAttempts: 3,
  pollFailureLimit: 12,
  deliveryAttempts: 8,
} as const;

/** What the engine is built from, in the composition root. */
export interface EngineDeps {
  settings: EngineSettings;
  log: Logger;
  ledger: Ledger;
  jobs: JobStore;
  providers: ReadonlyMap<ModelId, VideoProvider>;
  http: Http;
  delivery: Delivery;
  clock: Clock;
}

export interface StepContext extends EngineDeps {
  /** Expected run time and spread per model, learned from the completions we see. */
  runTimes: RunTimes;
  /** Input image bytes still in memory from the request: by job id, end images by endImageKey(id). */
  imageCache: Map<string, Uint8Array>;
  /** Writes the job with `patch` applied; the in-memory copy changes only once the write succeeded. */
  persist(job: JobRecord, patch: Partial<JobRecord>): Promise<JobRecord>;
  /** Applies `patch` in memory only, for facts that need not survive a restart. */
  remember(job: JobRecord, patch: Partial<JobRecord>): JobRecord;
  /** Runs the job's next step after `delayMs`. */
  wake(job: JobRecord, delayMs: number): void;
  /** Per-job counters that need not survive a restart (retry attempts). */
  attempts(jobId: string): {
    submit: number;
    poll: number;
    deliver: number;
    step: number;
    lastStatusEditAt: number;
  };
  /** Called when a job reaches a terminal state. */
  finished(job: JobRecord): void;
  logFor(job: JobRecord): Logger;
}

/** The image cache key of a job's end image (its main image is keyed by the job id). */
export const endImageKey = (jobId: string): string => `${jobId}:end`;
