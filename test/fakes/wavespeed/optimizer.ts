// The prompt optimizer inside the fake WaveSpeed (POST /api/v3/wavespeed-ai/prompt-optimizer and
// the polls of its tasks): a task that completes after a short, configurable time with the text
// rewritten, and knobs for what the bot must survive: a failed task, an HTTP error on submit
// (with or without the task created anyway), odd output shapes, failed polls, a held task.
// test/fakes/wavespeed.ts routes requests here; this file owns the optimizer's state.
import { randomBytes } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { z } from 'zod';

export const OPTIMIZER_ROUTE = '/api/v3/wavespeed-ai/prompt-optimizer';
/** What the fake adds to the text it is given: the rewritten prompt is `${text}${REWRITE_SUFFIX}`. */
export const REWRITE_SUFFIX = ', slow cinematic dolly-in, soft light';

export type OptimizerOutcome =
  /** The task ends `failed` with this error. */
  | { fail: true; error?: string }
  /** The task completes with `outputs: [output]` (an object, '', a number: whatever the test needs). */
  | { output: unknown }
  | { runMs: number };

export interface OptimizerTask {
  id: string;
  input: z.infer<typeof optimizerBody>;
  createdAt: number;
  runMs: number;
  /** `outputs[0]` once completed; absent for a task that fails. */
  output?: unknown;
  error?: string;
  held: boolean;
}

export interface FakeOptimizer {
  /** Every optimizer submit as it arrived, with the task it created (if any). */
  submissions: { body: unknown; headers: Record<string, string>; taskId?: string; at: number }[];
  /** Every poll of an optimizer task, with its HTTP status and the task status it showed. */
  polls: { id: string; at: number; answered: number; status?: string }[];
  tasks: Map<string, OptimizerTask>;
  /** Applies to the next created task; several calls queue up, one per task. */
  nextOutcome(outcome: OptimizerOutcome): void;
  /** The next submit answers `status`; with `createTask` the task exists all the same (a 5xx after the fact). */
  failSubmit(fault: { status: number; createTask?: boolean; retryAfter?: number }): void;
  /** The next polls of optimizer tasks answer these statuses, one each. */
  failPolls(...faults: { status: number; retryAfter?: number }[]): void;
  /** How long a new task takes to complete (default 300 ms). */
  setRunMs(ms: number): void;
  /** With an id, keeps that task processing; without, every current and future task. */
  hold(id?: string): void;
  /** With an id, lets that task finish; without, every task, and new ones are no longer held. */
  release(id?: string): void;
}

export interface OptimizerAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** The documented input (types only; `mode` is `image` or `video`). */
const optimizerBody = z
  .object({
    text: z.string().optional(),
    image: z.string().min(1).optional(),
    mode: z.enum(['image', 'video']).optional(),
    style: z.enum(['default', 'artistic', 'photographic', 'technical', 'anime', 'realistic']).optional(),
    enable_sync_mode: z.boolean().optional(),
  })
  .refine((b) => b.text !== undefined || b.image !== undefined, 'text or image is required');

export function createFakeOptimizer(opts: { baseUrl: () => string; runMs?: number }) {
  let runMs = opts.runMs ?? 300;
  let holdAll = false;
  const outcomes: OptimizerOutcome[] = [];
  const submitFaults: { status: number; createTask?: boolean; retryAfter?: number }[] = [];
  const pollFaults: { status: number; retryAfter?: number }[] = [];

  const fake: FakeOptimizer = {
    submissions: [],
    polls: [],
    tasks: new Map(),
    nextOutcome: (outcome) => void outcomes.push(outcome),
    failSubmit: (fault) => void submitFaults.push(fault),
    failPolls: (...faults) => void pollFaults.push(...faults),
    setRunMs: (ms) => void (runMs = ms),
    hold(id) {
      if (id !== undefined) mustGet(id).held = true;
      else {
        holdAll = true;
        for (const task of fake.tasks.values()) task.held = true;
      }
    },
    release(id) {
      if (id !== undefined) mustGet(id).held = false;
      else {
        holdAll = false;
        for (const task of fake.tasks.values()) task.held = false;
      }
    },
  };

  function mustGet(id: string): OptimizerTask {
    const task = fake.tasks.get(id);
    if (!task) throw new Error(`fake optimizer: no task ${id}`);
    return task;
  }

  function statusOf(task: OptimizerTask): 'created' | 'processing' | 'completed' | 'failed' {
    const elapsed = Date.now() - task.createdAt;
    if (elapsed < Math.min(50, task.runMs)) return 'created';
    if (task.held || elapsed < task.runMs) return 'processing';
    return task.error !== undefined ? 'failed' : 'completed';
  }

  function create(input: z.infer<typeof optimizerBody>): OptimizerTask {
    const task: OptimizerTask = {
      id: `opt-${randomBytes(12).toString('hex')}`,
      input,
      createdAt: Date.now(),
      runMs,
      output: `${input.text ?? 'an image'}${REWRITE_SUFFIX}`,
      held: holdAll,
    };
    const outcome = outcomes.shift();
    if (outcome && 'fail' in outcome) {
      delete task.output;
      task.error = outcome.error ?? 'prompt optimizer failed';
    } else if (outcome && 'output' in outcome) task.output = outcome.output;
    else if (outcome) task.runMs = outcome.runMs;
    fake.tasks.set(task.id, task);
    return task;
  }

  function prediction(task: OptimizerTask) {
    const status = statusOf(task);
    return {
      id: task.id,
      model: 'wavespeed-ai/prompt-optimizer',
      status,
      outputs: status === 'completed' ? [task.output] : [],
      urls: { get: `${opts.baseUrl()}/api/v3/predictions/${task.id}/result` },
      has_nsfw_contents: [],
      created_at: new Date(task.createdAt).toISOString(),
      error: status === 'failed' ? (task.error ?? '') : '',
      executionTime: 0,
      timings: { inference: 0 },
    };
  }

  const envelope = (status: number, message = STATUS_CODES[status] ?? 'Error') => ({
    code: status,
    message,
    data: null,
  });
  const retryAfter = (value: number | undefined) =>
    value === undefined ? {} : { headers: { 'retry-after': String(value) } };

  /**
   * The answer to a request the optimizer owns, or undefined for one it does not (the rest of the
   * fake takes it): the submit, and polls of the optimizer's own task ids.
   */
  function route(req: {
    method: string;
    path: string;
    body: Buffer;
    headers: Record<string, string>;
    authorized: boolean;
  }): OptimizerAnswer | undefined {
    if (req.method === 'POST' && req.path === OPTIMIZER_ROUTE) return submit(req);
    const poll = /^\/api\/v3\/predictions\/([^/]+)(\/result)?$/.exec(req.path);
    const id = poll?.[1] && decodeURIComponent(poll[1]);
    if (req.method !== 'GET' || !id || !fake.tasks.has(id)) return undefined;
    const at = Date.now();
    const fault = pollFaults.shift();
    if (fault) {
      fake.polls.push({ id, at, answered: fault.status });
      return { status: fault.status, body: envelope(fault.status), ...retryAfter(fault.retryAfter) };
    }
    if (!req.authorized) {
      fake.polls.push({ id, at, answered: 401 });
      return { status: 401, body: envelope(401, 'Unauthorized') };
    }
    const data = prediction(mustGet(id));
    fake.polls.push({ id, at, answered: 200, status: data.status });
    return { status: 200, body: { code: 200, message: 'success', data } };
  }

  function submit(req: {
    body: Buffer;
    headers: Record<string, string>;
    authorized: boolean;
  }): OptimizerAnswer {
    let body: unknown;
    try {
      body = JSON.parse(req.body.toString('utf8')) as unknown;
    } catch {
      body = undefined;
    }
    const record: FakeOptimizer['submissions'][number] = { body, headers: req.headers, at: Date.now() };
    fake.submissions.push(record);
    const parsed = optimizerBody.safeParse(body);
    const fault = submitFaults.shift();
    if (fault) {
      if (fault.createTask && parsed.success) record.taskId = create(parsed.data).id;
      return { status: fault.status, body: envelope(fault.status), ...retryAfter(fault.retryAfter) };
    }
    if (!req.authorized) return { status: 401, body: envelope(401, 'Unauthorized') };
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const message = issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'invalid body';
      return { status: 400, body: envelope(400, message) };
    }
    const task = create(parsed.data);
    record.taskId = task.id;
    return { status: 200, body: { code: 200, message: 'success', data: prediction(task) } };
  }

  return { fake, route };
}
