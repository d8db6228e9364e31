// What the engine tells the metrics, as a small interface: src/ops/metrics.ts implements it with
// prom-client, tests record the calls, and NO_TELEMETRY is the default, so the engine and the
// providers never import a metrics library. Each call is made once per event, in this process.
// What each number means for an operator: docs/operations.md.
import type { ModelId } from '../providers/catalog.js';
import type { ProviderRequestObserver } from '../providers/request.js';
import type { ProviderId } from '../providers/types.js';

/** How a job ended: posted and charged, cancelled by a member (refunded), or failed (refunded). */
export type JobOutcome = 'delivered' | 'cancelled' | 'failed';

/** How a result reached Discord: the mp4 uploaded, or its URL posted. */
export type Placement = 'upload' | 'link';

export interface Telemetry extends ProviderRequestObserver {
  /** A job reached its end. `model` is the one that ran it; `failure` the code of a refunded one. */
  jobEnded(event: { model: ModelId; outcome: JobOutcome; failure?: string }): void;
  /** One status check of a submitted job is about to go out (fal's result fetch is part of it). */
  statusPoll(provider: ProviderId): void;
  /** A provider said a video is ready: the status checks it took, and the seconds since the submit. */
  videoReady(event: { model: ModelId; polls: number; runSeconds: number }): void;
  /** A job's hold was committed: these credits are spent. */
  creditsSpent(amount: number): void;
  /** A result was posted. */
  delivered(placement: Placement): void;
}

export const NO_TELEMETRY: Telemetry = {
  providerRequest: () => undefined,
  jobEnded: () => undefined,
  statusPoll: () => undefined,
  videoReady: () => undefined,
  creditsSpent: () => undefined,
  delivered: () => undefined,
};

/** The outcome of a job in a terminal state. */
export function outcomeOf(job: { state: string; failure?: { code: string } | undefined }): JobOutcome {
  if (job.state === 'delivered') return 'delivered';
  return job.failure?.code === 'cancelled' ? 'cancelled' : 'failed';
}
