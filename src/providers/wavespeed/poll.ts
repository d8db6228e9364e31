// Reading WaveSpeed's prediction answers into PollResults: the status string drives the state,
// and a failed task's own code says what kind of failure it was (docs/providers.md,
// "WaveSpeed status strings").
import type { HttpResponse } from '../../net/http.js';
import type { ProviderError, ProviderErrorKind } from '../errors.js';
import type { ProviderClient } from '../request.js';
import type { PollResult } from '../types.js';
import { pollAnswer, type Prediction } from './wire.js';

/** Terminal failures (docs/providers.md, "WaveSpeed status strings"); any other status: keep polling. */
const FAILED_STATUSES = new Set(['failed', 'cancelled', 'timeout', 'deleted']);

/** Task-level codes WaveSpeed documents; any other code is a plain 'failed'. */
const TASK_CODE_KINDS: Partial<Record<number, ProviderErrorKind>> = {
  1200: 'moderation',
  1400: 'invalid_input',
  1401: 'invalid_input',
  1402: 'invalid_input',
  5003: 'unavailable',
  5004: 'timeout',
};

/** A WaveSpeed task as one poll answer says: still going, completed with its outputs, or failed. */
export type TaskState =
  | { state: 'queued' }
  | { state: 'running' }
  | { state: 'completed'; data: Prediction }
  | { state: 'failed'; error: ProviderError };

/**
 * Maps one poll answer of any WaveSpeed task (a video, the prompt optimizer); throws for answers
 * that say "ask again" (and for unreadable ones). What `completed` carries is the caller's to read.
 */
export function readTask(c: ProviderClient, res: HttpResponse, id: string): TaskState {
  const failed = c.failureStatus(res);
  if (failed === 404) {
    return {
      state: 'failed',
      error: c.error('protocol', 'prediction not found', { requestId: id, status: 404 }),
    };
  }
  if (failed !== undefined) throw c.httpError('poll', res, { status: failed, requestId: id });
  const parsed = pollAnswer.safeParse(res.body);
  if (!parsed.success)
    throw c.error('protocol', 'WaveSpeed poll answer had no data.status', { requestId: id });
  const data = parsed.data.data;
  if (data.status === 'created') return { state: 'queued' };
  if (data.status === 'completed') return { state: 'completed', data };
  if (FAILED_STATUSES.has(data.status)) return { state: 'failed', error: taskError(c, data, id) };
  return { state: 'running' };
}

/** Maps one poll answer of a video task; throws for answers that say "ask again". */
export function readPrediction(c: ProviderClient, res: HttpResponse, id: string): PollResult {
  const task = readTask(c, res, id);
  if (task.state !== 'completed') return task;
  const videoUrl = task.data.outputs?.[0];
  if (typeof videoUrl !== 'string' || videoUrl === '') {
    return {
      state: 'failed',
      error: c.error('protocol', 'WaveSpeed completed without outputs[0]', { requestId: id }),
    };
  }
  return { state: 'succeeded', videoUrl, nsfw: task.data.has_nsfw_contents?.[0] === true };
}

function taskError(c: ProviderClient, data: Prediction, id: string): ProviderError {
  const code = data.code === null || data.code === undefined ? undefined : Number(data.code);
  const kind = (code !== undefined && TASK_CODE_KINDS[code]) || 'failed';
  const message = data.error ? data.error : `WaveSpeed task ${data.status}`;
  const known = code !== undefined && !Number.isNaN(code);
  return c.error(kind, message, { requestId: id, ...(known ? { code } : {}) });
}
