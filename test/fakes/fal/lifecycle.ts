// One queued request inside the fake fal: IN_QUEUE (position counting down) → IN_PROGRESS →
// COMPLETED, driven by the clock, plus what its result call answers once it is over.
import { randomUUID } from 'node:crypto';

export type FakeOutcome =
  | { result422: { type?: string; msg?: string } }
  | { result5xx: { status?: number; errorType?: string } }
  | { completedError: { error: string; errorType: string } }
  | { videoBytes: Buffer }
  | { runMs: number };

/** Everything nextOutcome() said about the next request, merged. */
export interface Plan {
  failure?:
    | { kind: '422'; type: string; msg: string }
    | { kind: '5xx'; status: number; errorType: string }
    | { kind: 'completed'; error: string; errorType: string };
  videoBytes?: Buffer;
  runMs?: number;
}

export function mergeOutcome(plan: Plan, o: FakeOutcome): Plan {
  if ('result422' in o) {
    const { type = 'value_error', msg = 'Unprocessable image' } = o.result422;
    return { ...plan, failure: { kind: '422', type, msg } };
  }
  if ('result5xx' in o) {
    const { status = 500, errorType = 'runner_server_error' } = o.result5xx;
    return { ...plan, failure: { kind: '5xx', status, errorType } };
  }
  if ('completedError' in o) return { ...plan, failure: { kind: 'completed', ...o.completedError } };
  if ('videoBytes' in o) return { ...plan, videoBytes: o.videoBytes };
  return { ...plan, runMs: o.runMs };
}

export type Phase =
  { status: 'IN_QUEUE'; position: number } | { status: 'IN_PROGRESS' } | { status: 'COMPLETED' };

export interface HttpAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export class FakeRequest {
  held = false;
  releasedAt = 0;
  cancelledAt: number | undefined;
  /** The `?fal_webhook=` URL given on submit. */
  webhook: string | undefined;
  /** Set once the webhook (if any) went out for the COMPLETED request. */
  announced = false;
  /** Differs from the id, as after a server-side retry: a client using it with the queue API gets a 404. */
  readonly gatewayRequestId = randomUUID();

  constructor(
    readonly id: string,
    readonly createdAt: number,
    readonly queuedMs: number,
    readonly runMs: number,
    readonly queueAhead: number,
    readonly plan: Plan,
  ) {}

  phase(now: number): Phase {
    if (this.cancelledAt !== undefined) return { status: 'COMPLETED' };
    const elapsed = now - this.createdAt;
    if (elapsed < this.queuedMs) {
      const step = this.queuedMs / (this.queueAhead + 1);
      return { status: 'IN_QUEUE', position: Math.max(0, this.queueAhead - Math.floor(elapsed / step)) };
    }
    const end = this.endAt();
    return end === undefined || now < end ? { status: 'IN_PROGRESS' } : { status: 'COMPLETED' };
  }

  /** When it is (or, left alone, will be) COMPLETED; undefined while held. */
  endAt(): number | undefined {
    if (this.cancelledAt !== undefined) return this.cancelledAt;
    if (this.held) return undefined;
    return Math.max(this.createdAt + this.queuedMs + this.runMs, this.releasedAt);
  }

  /**
   * The next moment `phase` changes by the clock alone (a queue position, IN_PROGRESS, COMPLETED),
   * always after `now`; undefined when only release() can move it, or it is over.
   */
  nextChangeAt(now: number): number | undefined {
    if (this.cancelledAt !== undefined) return undefined;
    const elapsed = now - this.createdAt;
    if (elapsed < this.queuedMs) {
      const step = this.queuedMs / (this.queueAhead + 1);
      return this.createdAt + Math.min((Math.floor(elapsed / step) + 1) * step, this.queuedMs);
    }
    const end = this.endAt();
    return end !== undefined && now < end ? end : undefined;
  }

  /** `error`/`error_type` on the COMPLETED status, for failures fal reports there. */
  completedError(): { error: string; error_type: string } | undefined {
    if (this.cancelledAt !== undefined)
      return { error: 'Request was cancelled', error_type: 'client_cancelled' };
    const f = this.plan.failure;
    return f?.kind === 'completed' ? { error: f.error, error_type: f.errorType } : undefined;
  }

  get succeeded(): boolean {
    return this.cancelledAt === undefined && this.plan.failure === undefined;
  }

  /** The result call once COMPLETED: the model's output or its error, as fal passes it through. */
  result(videoUrl: string, fileSize: number): HttpAnswer {
    const f = this.plan.failure;
    if (this.cancelledAt !== undefined) return requestError(499, 'Request was cancelled', 'client_cancelled');
    if (f === undefined) {
      return {
        status: 200,
        body: {
          video: {
            url: videoUrl,
            content_type: 'video/mp4',
            file_name: `${this.id}.mp4`,
            file_size: fileSize,
          },
        },
        headers: { 'x-fal-request-id': this.id },
      };
    }
    if (f.kind === '422')
      return { status: 422, body: { detail: [{ loc: ['body', 'image_url'], msg: f.msg, type: f.type }] } };
    if (f.kind === '5xx') return requestError(f.status, 'Internal server error', f.errorType);
    if (f.errorType === 'content_policy_violation') {
      return { status: 422, body: { detail: [{ loc: ['body'], msg: f.error, type: f.errorType }] } };
    }
    return requestError(500, f.error, f.errorType);
  }
}

/** fal's infrastructure error shape: flat body, the type repeated in a header (§2.7). */
export function requestError(status: number, detail: string, errorType?: string): HttpAnswer {
  return errorType === undefined
    ? { status, body: { detail } }
    : { status, body: { detail, error_type: errorType }, headers: { 'x-fal-error-type': errorType } };
}
