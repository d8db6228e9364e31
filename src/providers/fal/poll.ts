// Reading fal's status and result answers into PollResults. A request's failure shows either
// on its COMPLETED status (`error`/`error_type`) or, as fal documents it, in the result call
// (docs/providers.md, "fal status strings" and "fal result fetch").
import type { HttpResponse } from '../../net/http.js';
import { kindForStatus } from '../errors.js';
import type { ProviderClient } from '../request.js';
import type { PollResult } from '../types.js';
import { isModerationType, resultAnswer, statusAnswer } from './wire.js';

/** The status answer once it says COMPLETED with no error: the caller fetches the result. */
export type StatusOutcome = PollResult | { state: 'completed' };

/** Where a request waits or runs, from a status object (the status call's, or a stream event). */
export function phaseOf(s: {
  status: string;
  queue_position?: number | null | undefined;
}): Extract<PollResult, { state: 'queued' | 'running' }> | undefined {
  if (s.status === 'IN_QUEUE')
    return s.queue_position == null ? { state: 'queued' } : { state: 'queued', position: s.queue_position };
  return s.status === 'IN_PROGRESS' ? { state: 'running' } : undefined;
}

/** Maps a status answer; throws for answers that say "ask again" or that end the poll loop. */
export function readStatus(c: ProviderClient, res: HttpResponse): StatusOutcome {
  if (res.status === 404) {
    return { state: 'failed', error: c.error('protocol', 'fal status: request not found', { status: 404 }) };
  }
  if (res.status === 504 && res.headers['x-fal-request-timeout-type'] === 'user') {
    // fal's start deadline for this request ran out: asking again cannot help, and fal's own
    // client does not retry it. Kind 'timeout' would read as retryable, so this is a final
    // 'failed' error.
    throw c.httpError('status', res, { kind: 'failed' });
  }
  // 429, 5xx and the like: the engine polls again later (honouring retryAfterMs).
  if (res.status < 200 || res.status >= 300) throw c.httpError('status', res);

  const parsed = statusAnswer.safeParse(res.body);
  if (!parsed.success) {
    return {
      state: 'failed',
      error: c.error('protocol', 'fal status: unreadable answer', { status: res.status }),
    };
  }
  const s = parsed.data;
  const phase = phaseOf(s);
  if (phase !== undefined) return phase;
  switch (s.status) {
    case 'COMPLETED':
      if (s.error || s.error_type) {
        return {
          state: 'failed',
          error: c.error(
            isModerationType(s.error_type) ? 'moderation' : 'failed',
            `fal request failed: ${s.error || s.error_type || 'unknown error'}`,
            s.error_type ? { code: s.error_type } : {},
          ),
        };
      }
      return { state: 'completed' };
    default:
      // Only IN_QUEUE, IN_PROGRESS and COMPLETED exist (docs/providers.md, "fal status strings");
      // anything else ends the job.
      return {
        state: 'failed',
        error: c.error('protocol', `fal status: unknown status ${JSON.stringify(s.status).slice(0, 60)}`, {
          status: res.status,
        }),
      };
  }
}

/**
 * Maps the result answer, fetched after COMPLETED. Only the model's own error is final: a 422,
 * or a 5xx naming a fal error type. A bare 5xx or 408, or a 429, comes from something in between
 * (a proxy, a rate limiter) while the video may well be there, so it throws a retryable error
 * and the next poll asks again.
 */
export function readResult(c: ProviderClient, res: HttpResponse): PollResult {
  // What result answers before the end is undocumented (docs/providers.md, "fal result fetch");
  // some report 202: not done yet.
  if (res.status === 202) return { state: 'running' };
  if (res.status >= 200 && res.status < 300) {
    const parsed = resultAnswer.safeParse(res.body);
    if (parsed.success) return { state: 'succeeded', videoUrl: parsed.data.video.url, nsfw: false };
    return {
      state: 'failed',
      error: c.error('protocol', 'fal result: no video url', { status: res.status }),
    };
  }
  const info = c.readError(res);
  const passing = (res.status === 408 || res.status >= 500) && info.code === undefined;
  // Never the request's own failure: a rate limit (ask again later) or our key being refused.
  if (passing || res.status === 429 || res.status === 401 || res.status === 403)
    throw c.httpError('result', res);
  if (res.status === 404) {
    return { state: 'failed', error: c.error('protocol', 'fal result: request not found', { status: 404 }) };
  }
  const kind = info.moderation
    ? 'moderation'
    : res.status >= 500
      ? 'unavailable'
      : kindForStatus(res.status) === 'invalid_input'
        ? 'invalid_input'
        : 'failed';
  return { state: 'failed', error: c.httpError('result', res, { kind, notAccepted: false }) };
}
