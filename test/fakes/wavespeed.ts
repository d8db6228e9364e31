// A fake WaveSpeed API on 127.0.0.1 (provider-protocols.md §1.9): submit, poll with a
// time-driven status timeline, ticket and multipart uploads, output files, signed webhooks
// (docs/providers.md, "WaveSpeed webhooks"), and fault knobs.
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Request } from 'undici';
import { z } from 'zod';
import { createDeliveries, type WebhookFault, type WebhookRecord } from './fal/deliveries.js';

export type { WebhookFault } from './fal/deliveries.js';
import { createFakeOptimizer, type FakeOptimizer } from './wavespeed/optimizer.js';

type Outcome =
  | { status: 'failed' | 'cancelled' | 'timeout' | 'deleted'; code?: number; error?: string }
  | { nsfw: true }
  | { videoBytes: Buffer }
  | { runMs: number };
type PollFault =
  { status: number; retryAfter?: number | string; body?: unknown } | { reset: true } | { delayMs: number };
type SubmitFault =
  | { status: number; createTask?: boolean; retryAfter?: number }
  | { reset: true; createTask?: boolean }
  | { delayMs: number };

/** A request as a hook sees it (see `onRequest`). */
export interface HookedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

export interface FakeTask {
  id: string;
  endpoint: string;
  input: z.infer<typeof submitBody>;
  createdAt: number;
  queuedMs: number;
  runMs: number;
  /** Set to the terminal state on creation; shown once the timeline reaches it. */
  end:
    | { status: 'completed' }
    | { status: 'failed' | 'cancelled' | 'timeout' | 'deleted'; code?: number; error: string };
  nsfw: boolean;
  videoBytes: Buffer;
  held: boolean;
  completedNow: boolean;
  /** The `?webhook=` URL given on submit, decoded. */
  webhook?: string;
}

export interface FakeWaveSpeed {
  baseUrl: string;
  submissions: {
    endpoint: string;
    body: unknown;
    headers: Record<string, string>;
    taskId?: string;
    /** The `?webhook=` URL, decoded. */
    webhook?: string;
    at: number;
  }[];
  polls: { id: string; at: number; answered: number; status?: string }[];
  requests: { method: string; path: string; headers: Record<string, string>; at: number }[];
  uploads: { filename: string; contentType: string; bytes: Buffer; url: string }[];
  tasks: Map<string, FakeTask>;
  /** The account's secret as `GET /api/v3/webhook/secret` hands it out, `whsec_` prefix included. */
  webhookSecret: string;
  /** Calls to `GET /api/v3/webhook/secret`, authorized or not. */
  secretFetches: number;
  /** Every webhook delivery attempt, in order (a duplicate or a resend is one more). */
  webhooks: (WebhookRecord & { taskId: string })[];
  /** Faults for the next deliveries, one each. */
  failWebhook(...faults: WebhookFault[]): void;
  /** Resolves once `n` deliveries in all have their outcome (answer, connection error or drop). */
  webhookSent(n: number): Promise<void>;
  /** POSTs `webhooks[index]` again, same headers and body; resolves with the new record once answered. */
  resend(index: number): Promise<WebhookRecord & { taskId: string }>;
  /** The prompt optimizer: its submissions, tasks and knobs (test/fakes/wavespeed/optimizer.ts). */
  optimizer: FakeOptimizer;
  failPolls(...faults: PollFault[]): void;
  failSubmit(fault: SubmitFault): void;
  /** Applies to the next created task; several calls queue up, one per task. */
  nextOutcome(outcome: Outcome): void;
  setRunMs(ms: number): void;
  completeNow(id: string): void;
  /** With an id, keeps that task from finishing; without, every current and future task. */
  hold(id?: string): void;
  /** With an id, lets that task finish; without, releases every task and stops holding new ones. */
  release(id?: string): void;
  /** Status the task shows right now. */
  statusOf(id: string): string | undefined;
  /**
   * Runs `hook` for every request matching method and path once the fake has applied its effect
   * (task created, file stored) and before the answer leaves; the answer waits for the returned
   * promise. For crash tests: kill the client between a side effect and the client learning of
   * it. Not called for a request answered by resetting the connection. Returns a remover.
   */
  onRequest(method: string, path: RegExp, hook: (request: HookedRequest) => void | Promise<void>): () => void;
  close(): Promise<void>;
}

export interface FakeWaveSpeedOptions {
  apiKey?: string;
  runMs?: number;
  queuedMs?: number;
  videoBytes?: Buffer;
  /** False makes POST /api/v3/media/uploads answer 404, as a server with only the binary upload would. */
  uploadTicket?: boolean;
  /** False makes every upload endpoint answer 404, as a server without media uploads would. */
  uploads?: boolean;
  /**
   * How `GET /api/v3/webhook/secret` puts the secret in the envelope, which WaveSpeed does not
   * document: `data.secret` ('envelope', the default) or `data` itself ('string').
   */
  secretShape?: 'envelope' | 'string';
  /** Every webhook delivery waits this long after the task ends (a `{ delayMs }` fault replaces it). */
  webhookDelayMs?: number;
}

const MODELS = new Set(['luma/ray-2-flash-i2v', 'luma/ray-2-i2v']);
const FAKE_MP4 = Buffer.concat([
  Buffer.from([0, 0, 0, 0x18]),
  Buffer.from('ftypisom'),
  Buffer.from([0, 0, 2, 0]),
  Buffer.from('isommp42'),
  Buffer.from([0, 0, 0, 8]),
  Buffer.from('free'),
]);

export async function startFakeWaveSpeed(opts: FakeWaveSpeedOptions = {}): Promise<FakeWaveSpeed> {
  const apiKey = opts.apiKey ?? 'ws-test-key';
  const queuedMs = opts.queuedMs ?? 50;
  let runMs = opts.runMs ?? 200;
  const defaultVideo = opts.videoBytes ?? FAKE_MP4;
  const pollFaults: PollFault[] = [];
  const submitFaults: SubmitFault[] = [];
  const outcomes: Outcome[] = [];
  const tickets = new Map<
    string,
    { filename: string; size: number; contentType: string; downloadUrl: string }
  >();
  const files = new Map<string, { contentType: string; bytes: Buffer }>();
  const timers = new Set<NodeJS.Timeout>();
  let holdAll = false;
  const hooks: { method: string; path: RegExp; run: (request: HookedRequest) => void | Promise<void> }[] = [];
  // Random base64 text: a client that base64-decodes it, as some Svix libraries do, gets another key.
  const webhookSecret = `whsec_${randomBytes(24).toString('base64')}`;
  const deliveries = createDeliveries<'taskId', WebhookFault>({
    idKey: 'taskId',
    delayMs: opts.webhookDelayMs ?? 0,
    sign: (_taskId, body, timestampS, fault) => {
      const id = `msg_${randomBytes(12).toString('hex')}`;
      const key = fault && 'badSignature' in fault ? 'not-the-secret' : webhookSecret.slice('whsec_'.length);
      const digest = createHmac('sha256', key).update(`${id}.${timestampS}.${body}`).digest('hex');
      return {
        'webhook-id': id,
        'webhook-timestamp': String(timestampS),
        'webhook-signature': `v3,${digest}`,
      };
    },
  });
  const webhookTimers = new Map<string, NodeJS.Timeout>();
  const announced = new Set<string>();

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) json(res, 500, { code: 500, message: String(error), data: null });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const optimizer = createFakeOptimizer({ baseUrl: () => baseUrl });

  const fake: FakeWaveSpeed = {
    baseUrl,
    submissions: [],
    polls: [],
    requests: [],
    uploads: [],
    tasks: new Map(),
    webhookSecret,
    secretFetches: 0,
    webhooks: deliveries.records,
    failWebhook: (...faults) => deliveries.fail(...faults),
    webhookSent: (n) => deliveries.settled(n),
    resend: (index) => deliveries.resend(index),
    optimizer: optimizer.fake,
    failPolls: (...faults) => void pollFaults.push(...faults),
    failSubmit: (fault) => void submitFaults.push(fault),
    nextOutcome: (outcome) => void outcomes.push(outcome),
    setRunMs: (ms) => void (runMs = ms),
    completeNow(id) {
      const task = mustGet(id);
      task.completedNow = true;
      task.held = false;
      armWebhook(task);
    },
    hold(id) {
      const held =
        id !== undefined ? [mustGet(id)] : [...fake.tasks.values()].filter((t) => !isTerminal(statusOf(t)));
      if (id === undefined) holdAll = true;
      for (const task of held) {
        task.held = true;
        armWebhook(task);
      }
    },
    release(id) {
      if (id === undefined) holdAll = false;
      for (const task of id !== undefined ? [mustGet(id)] : fake.tasks.values()) {
        task.held = false;
        armWebhook(task);
      }
    },
    statusOf: (id) => {
      const task = fake.tasks.get(id);
      return task && statusOf(task);
    },
    onRequest(method, path, run) {
      const entry = { method: method.toUpperCase(), path, run };
      hooks.push(entry);
      return () => {
        const at = hooks.indexOf(entry);
        if (at >= 0) hooks.splice(at, 1);
      };
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      for (const timer of webhookTimers.values()) clearTimeout(timer);
      deliveries.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;

  /** Defers `res.end` until every hook matching the request has run (the handlers answer via end). */
  function holdAnswer(res: ServerResponse, request: HookedRequest): void {
    const matching = hooks.filter((h) => h.method === request.method && h.path.test(request.path));
    if (matching.length === 0) return;
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    const held = (...args: unknown[]): ServerResponse => {
      void (async () => {
        for (const hook of matching) await hook.run(request);
      })().then(
        () => end(...args),
        () => res.destroy(),
      );
      return res;
    };
    res.end = held as ServerResponse['end'];
  }

  function mustGet(id: string): FakeTask {
    const task = fake.tasks.get(id);
    if (!task) throw new Error(`fake WaveSpeed: no task ${id}`);
    return task;
  }

  /**
   * Sends the task's webhook once it is over (now, if it is), and otherwise sets a timer for
   * the moment the timeline ends it; a held task gets none until released. Called again by the
   * timer, since a timer may fire a moment before the clock agrees.
   */
  function armWebhook(task: FakeTask): void {
    clearTimeout(webhookTimers.get(task.id));
    webhookTimers.delete(task.id);
    if (task.webhook === undefined || announced.has(task.id)) return;
    const status = statusOf(task);
    if (isTerminal(status)) {
      announced.add(task.id);
      // WaveSpeed calls back on the end of a run; a deleted task has nobody to tell.
      if (status !== 'deleted') deliveries.deliver(task.id, task.webhook, JSON.stringify(prediction(task)));
      return;
    }
    if (task.held) return;
    const endsAt = task.createdAt + Math.max(task.queuedMs, task.runMs);
    webhookTimers.set(
      task.id,
      setTimeout(() => armWebhook(task), Math.max(1, endsAt - Date.now())),
    );
  }

  function statusOf(task: FakeTask): string {
    const elapsed = Date.now() - task.createdAt;
    if (task.completedNow) return task.end.status;
    if (elapsed < task.queuedMs) return 'created';
    if (task.held || elapsed < task.runMs) return 'processing';
    return task.end.status;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', baseUrl);
    const headers = flat(req.headers);
    const method = req.method ?? 'GET';
    const at = Date.now();
    fake.requests.push({ method, path: url.pathname, headers, at });
    const body = await readBody(req);
    holdAnswer(res, { method, path: url.pathname, headers, body });
    const authorized = headers.authorization === `Bearer ${apiKey}`;
    const path = url.pathname;
    const optimized = optimizer.route({ method, path, body, headers, authorized });
    if (optimized) return json(res, optimized.status, optimized.body, optimized.headers);

    if (method === 'POST' && path.startsWith('/api/v3/') && MODELS.has(path.slice('/api/v3/'.length))) {
      const webhook = url.searchParams.get('webhook') ?? undefined;
      return submit(res, path.slice('/api/v3/'.length), body, headers, authorized, at, webhook);
    }
    if (method === 'GET' && path === '/api/v3/webhook/secret') {
      fake.secretFetches += 1;
      if (!authorized) return unauthorized(res);
      const data = opts.secretShape === 'string' ? webhookSecret : { secret: webhookSecret };
      return json(res, 200, { code: 200, message: 'success', data });
    }
    const poll = /^\/api\/v3\/predictions\/([^/]+)(\/result)?$/.exec(path);
    if (method === 'GET' && poll?.[1]) return answerPoll(res, decodeURIComponent(poll[1]), authorized, at);

    if (opts.uploads === false && method === 'POST' && path.startsWith('/api/v3/media/')) {
      return json(res, 404, { code: 404, message: 'not found', data: null });
    }
    if (method === 'POST' && path === '/api/v3/media/uploads') {
      if (opts.uploadTicket === false) return json(res, 404, { code: 404, message: 'not found', data: null });
      if (!authorized) return unauthorized(res);
      const parsed = ticketBody.safeParse(parseJson(body));
      if (!parsed.success) return invalid(res, problemOf(parsed.error));
      const ticket = parsed.data;
      const token = randomBytes(8).toString('hex');
      const contentType = ticket.content_type ?? 'application/octet-stream';
      const downloadUrl = `${baseUrl}/media/${token}/${encodeURIComponent(ticket.filename)}`;
      tickets.set(token, { filename: ticket.filename, size: ticket.size, contentType, downloadUrl });
      return json(res, 200, {
        code: 200,
        message: 'success',
        data: {
          type: 'image',
          download_url: downloadUrl,
          filename: ticket.filename,
          size: ticket.size,
          upload: {
            method: 'PUT',
            url: `${baseUrl}/signed/${token}?X-Signature=${randomBytes(6).toString('hex')}`,
            headers: { 'Content-Type': contentType },
          },
        },
      });
    }
    const signed = /^\/signed\/([0-9a-f]+)$/.exec(path);
    if (method === 'PUT' && signed?.[1]) {
      const ticket = tickets.get(signed[1]);
      if (!ticket) return json(res, 404, { error: 'no such upload' });
      // A signed URL is its own credential; real storage rejects a stray Authorization header.
      if (headers.authorization !== undefined)
        return json(res, 400, { error: 'unexpected Authorization header' });
      if (headers['content-type'] !== ticket.contentType)
        return json(res, 400, { error: 'content-type mismatch' });
      if (body.length !== ticket.size) return json(res, 400, { error: 'size mismatch' });
      tickets.delete(signed[1]);
      store(ticket.filename, ticket.contentType, body, ticket.downloadUrl);
      res.writeHead(200).end();
      return;
    }
    if (method === 'POST' && path === '/api/v3/media/upload/binary') {
      if (!authorized) return unauthorized(res);
      const form = await new Request(`${baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': headers['content-type'] ?? '' },
        body,
      })
        .formData()
        .catch(() => undefined);
      const file = form?.get('file');
      if (!file || typeof file === 'string') return invalid(res, 'multipart field "file" is required');
      const bytes = Buffer.from(await file.arrayBuffer());
      const downloadUrl = `${baseUrl}/media/${randomBytes(8).toString('hex')}/${encodeURIComponent(file.name)}`;
      store(file.name, file.type || 'application/octet-stream', bytes, downloadUrl);
      return json(res, 200, {
        code: 200,
        message: 'success',
        data: { type: 'image', download_url: downloadUrl, filename: file.name, size: bytes.length },
      });
    }
    if (method === 'GET' && path.startsWith('/media/')) {
      const file = files.get(`${baseUrl}${path}`);
      if (!file) return json(res, 404, { code: 404, message: 'not found', data: null });
      res
        .writeHead(200, { 'content-type': file.contentType, 'content-length': file.bytes.length })
        .end(file.bytes);
      return;
    }
    const output = /^\/files\/([^/]+)\.mp4$/.exec(path);
    if (method === 'GET' && output?.[1]) {
      const task = fake.tasks.get(output[1]);
      if (!task || statusOf(task) !== 'completed') return json(res, 404, { code: 404, message: 'not found' });
      res
        .writeHead(200, { 'content-type': 'video/mp4', 'content-length': task.videoBytes.length })
        .end(task.videoBytes);
      return;
    }
    json(res, 404, { code: 404, message: `no route ${method} ${path}`, data: null });
  }

  async function submit(
    res: ServerResponse,
    endpoint: string,
    raw: Buffer,
    headers: Record<string, string>,
    authorized: boolean,
    at: number,
    webhook: string | undefined,
  ): Promise<void> {
    const body = parseJson(raw);
    const parsed = submitBody.safeParse(body);
    const record: FakeWaveSpeed['submissions'][number] = {
      endpoint,
      body,
      headers,
      at,
      ...(webhook !== undefined && { webhook }),
    };
    fake.submissions.push(record);
    const fault = submitFaults.shift();
    if (fault && 'delayMs' in fault) await sleep(fault.delayMs);
    else if (fault) {
      if (fault.createTask && parsed.success)
        record.taskId = createTask(endpoint, parsed.data, at, webhook).id;
      if ('reset' in fault) return void res.destroy();
      return json(res, fault.status, errorEnvelope(fault.status), retryAfter(fault.retryAfter));
    }
    if (!authorized) return unauthorized(res);
    if (!parsed.success) return invalid(res, problemOf(parsed.error));
    const task = createTask(endpoint, parsed.data, Date.now(), webhook);
    record.taskId = task.id;
    json(res, 200, { code: 200, message: 'success', data: prediction(task) });
  }

  async function answerPoll(res: ServerResponse, id: string, authorized: boolean, at: number): Promise<void> {
    const fault = pollFaults.shift();
    if (fault && 'delayMs' in fault) await sleep(fault.delayMs);
    else if (fault && 'reset' in fault) {
      fake.polls.push({ id, at, answered: 0 });
      return void res.destroy();
    } else if (fault) {
      fake.polls.push({ id, at, answered: fault.status });
      return json(res, fault.status, fault.body ?? errorEnvelope(fault.status), retryAfter(fault.retryAfter));
    }
    if (!authorized) {
      fake.polls.push({ id, at, answered: 401 });
      return unauthorized(res);
    }
    const task = fake.tasks.get(id);
    if (!task) {
      fake.polls.push({ id, at, answered: 404 });
      return json(res, 404, { code: 404, message: 'prediction not found' });
    }
    const data = prediction(task);
    fake.polls.push({ id, at, answered: 200, status: data.status });
    json(res, 200, { code: 200, message: 'success', data });
  }

  function createTask(
    endpoint: string,
    input: z.infer<typeof submitBody>,
    createdAt: number,
    webhook: string | undefined,
  ): FakeTask {
    const task: FakeTask = {
      id: randomBytes(16).toString('hex'),
      endpoint,
      input,
      createdAt,
      queuedMs,
      runMs,
      end: { status: 'completed' },
      nsfw: false,
      videoBytes: defaultVideo,
      held: holdAll,
      completedNow: false,
      ...(webhook !== undefined && { webhook }),
    };
    const outcome = outcomes.shift();
    if (outcome && 'status' in outcome) {
      const code = outcome.code ?? (outcome.status === 'failed' ? 1402 : undefined);
      task.end = {
        status: outcome.status,
        error:
          outcome.error ??
          (outcome.status === 'failed'
            ? 'Failed to download image from the provided URL.'
            : `task ${outcome.status}`),
        ...(code !== undefined ? { code } : {}),
      };
    } else if (outcome && 'nsfw' in outcome) task.nsfw = true;
    else if (outcome && 'videoBytes' in outcome) task.videoBytes = outcome.videoBytes;
    else if (outcome) task.runMs = outcome.runMs;
    fake.tasks.set(task.id, task);
    armWebhook(task);
    return task;
  }

  function prediction(task: FakeTask) {
    const status = statusOf(task);
    const elapsed = Math.max(0, Date.now() - task.createdAt - task.queuedMs);
    const base = {
      id: task.id,
      model: task.endpoint,
      input: task.input,
      status,
      outputs: [] as string[],
      urls: { get: `${baseUrl}/api/v3/predictions/${task.id}/result` },
      has_nsfw_contents: [] as boolean[],
      created_at: new Date(task.createdAt).toISOString(),
      error: '',
      executionTime: 0,
      timings: { inference: 0 },
    };
    if (status === 'completed') {
      return {
        ...base,
        outputs: [`${baseUrl}/files/${task.id}.mp4`],
        has_nsfw_contents: [task.nsfw],
        executionTime: elapsed,
        timings: { inference: elapsed },
      };
    }
    if (task.end.status !== 'completed' && status === task.end.status) {
      return {
        ...base,
        error: task.end.error,
        ...(task.end.code !== undefined ? { code: task.end.code } : {}),
      };
    }
    return base;
  }

  function store(filename: string, contentType: string, bytes: Buffer, url: string): void {
    files.set(url, { contentType, bytes });
    fake.uploads.push({ filename, contentType, bytes, url });
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });
  }
}

/** The documented model input; duration is accepted as an integer or, like an older docs page, a string. */
const submitBody = z.object({
  image: z.string().min(1),
  prompt: z.string().min(1),
  size: z.enum(['1280*720', '720*1280']).optional(),
  duration: z.union([z.literal(5), z.literal(10), z.literal('5'), z.literal('10')]).optional(),
});
const ticketBody = z.object({
  filename: z.string().min(1),
  size: z.number().int(),
  content_type: z.string().optional(),
});

function problemOf(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'invalid body';
}

function isTerminal(status: string): boolean {
  return ['completed', 'failed', 'cancelled', 'timeout', 'deleted'].includes(status);
}

function errorEnvelope(status: number) {
  return { code: status, message: STATUS_CODES[status] ?? 'Error', data: null };
}

function retryAfter(value: number | string | undefined): Record<string, string> {
  return value === undefined ? {} : { 'retry-after': String(value) };
}

function unauthorized(res: ServerResponse): void {
  json(res, 401, { code: 401, message: 'Unauthorized', data: null });
}

function invalid(res: ServerResponse, message: string): void {
  json(res, 400, { code: 400, message, data: null });
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(text);
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function flat(headers: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) out[key] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
