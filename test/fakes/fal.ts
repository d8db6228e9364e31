// A fake fal.ai on 127.0.0.1 following protocols §2.12: queue submit/status/result/cancel, storage
// upload through a signed URL, output files, and fault knobs; and what fal pushes
// (docs/providers.md, "Push"): signed webhooks with their JWKS, and the status stream.
// Every URL it hands out is built on its own base (and an optional prefix), so a client that
// rebuilds URLs gets a 404.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createDeliveries, type WebhookFault, type WebhookRecord } from './fal/deliveries.js';
import { answer, answerBytes, faultAnswer, flatHeaders, parseJson, readBody } from './fal/http.js';
import {
  FakeRequest,
  mergeOutcome,
  type FakeOutcome,
  type HttpAnswer,
  type Phase,
  type Plan,
} from './fal/lifecycle.js';
import { createFalSigner } from './fal/signing.js';
import { createFakeStorage, type UploadRecord } from './fal/storage.js';
import { serveStatusStream, type StreamFault, type StreamRecord } from './fal/stream.js';
import { validateInput } from './fal/validate.js';

export type { FakeOutcome } from './fal/lifecycle.js';
export type { WebhookFault, WebhookRecord } from './fal/deliveries.js';
export type { StreamFault, StreamRecord } from './fal/stream.js';
export { FAKE_FAL_USER_ID, type Jwk } from './fal/signing.js';

/** A delivery fault, or a signature by a key the JWKS does not list. */
export type FalWebhookFault = WebhookFault | { unknownKey: true };

export type StatusFault =
  | { status: number; retryAfter?: number | string; userTimeout?: boolean }
  | { reset: true }
  | { delayMs: number };
/** A result-call fault; without `body` the answer carries no fal error type, like a passing proxy's. */
export type ResultFault =
  { status: number; retryAfter?: number | string; body?: unknown } | { reset: true } | { delayMs: number };
export type SubmitFault =
  | { status: number; createTask?: boolean; retryAfter?: number; body?: unknown }
  | { reset: true; createTask?: boolean }
  | { delayMs: number };

export interface FakeFalOptions {
  apiKey?: string;
  runMs?: number;
  queuedMs?: number;
  queueAhead?: number;
  videoBytes?: Buffer;
  /** Path put before `/fal-ai/luma-dream-machine/requests/…` in the URLs the fake returns (and serves). */
  urlPrefix?: string;
  /** Every webhook delivery waits this long after the request completes (a `{ delayMs }` fault replaces it). */
  webhookDelayMs?: number;
  /** Writes a `: keep-alive` comment this often on each open status stream. */
  streamKeepAliveMs?: number;
}

export interface FakeFal {
  queueUrl: string;
  storageUrl: string;
  /** Every POST to a model endpoint, authorized or not; `requestId` when it created a request. */
  submissions: {
    endpoint: string;
    body: unknown;
    headers: Record<string, string>;
    requestId?: string;
    /** The `?fal_webhook=` URL, decoded. */
    webhook?: string;
    at: number;
  }[];
  statusPolls: { id: string; at: number; answered: number; status?: string }[];
  resultFetches: { id: string; at: number; answered: number }[];
  cancels: string[];
  requests: { method: string; path: string; headers: Record<string, string>; at: number }[];
  uploads: UploadRecord[];
  /** `GET /.well-known/jwks.json` on the fake's base (no prefix, no key needed). */
  jwksUrl: string;
  jwksFetches: number;
  /** Adds a key pair and signs with it from now on; the JWKS keeps the older keys. Returns the new kid. */
  rotateKey(): string;
  /** Every webhook delivery attempt, in order (a duplicate or a resend is one more). */
  webhooks: (WebhookRecord & { requestId: string })[];
  /** Faults for the next deliveries, one each. */
  failWebhook(...faults: FalWebhookFault[]): void;
  /** Resolves once `n` deliveries in all have their outcome (answer, connection error or drop). */
  webhookSent(n: number): Promise<void>;
  /** POSTs `webhooks[index]` again, same headers and body; resolves with the new record once answered. */
  resend(index: number): Promise<WebhookRecord & { requestId: string }>;
  /** Every authorized connection to a status stream, whatever it was answered. */
  streams: StreamRecord[];
  /** Faults for the next stream connections, one each. */
  failStream(...faults: StreamFault[]): void;
  /** When the request became COMPLETED (by the clock, a release or a cancel); undefined before. */
  completedAt(id: string): number | undefined;
  failStatus(...faults: StatusFault[]): void;
  failSubmit(fault: SubmitFault): void;
  /** Faults for the next result calls, one each, after the request is COMPLETED or not. */
  failResult(...faults: ResultFault[]): void;
  /** Applies to the next created request; several calls before it are merged. */
  nextOutcome(outcome: FakeOutcome): void;
  /** Keeps a request IN_PROGRESS until released; without an id, the next created request. */
  hold(id?: string): void;
  release(id: string): void;
  close(): Promise<void>;
}

/** The smallest thing that sniffs as an mp4: an `ftyp` box and an empty `mdat`. */
export const FAKE_MP4 = Buffer.concat([
  Buffer.from([0, 0, 0, 0x18]),
  Buffer.from('ftypisom', 'latin1'),
  Buffer.from([0, 0, 2, 0]),
  Buffer.from('isommp41', 'latin1'),
  Buffer.from([0, 0, 0, 8]),
  Buffer.from('mdat', 'latin1'),
]);

const APP = '/fal-ai/luma-dream-machine';

export async function startFakeFal(opts: FakeFalOptions = {}): Promise<FakeFal> {
  const apiKey = opts.apiKey ?? 'fal-test-key';
  const prefix = (opts.urlPrefix ?? '').replace(/\/+$/, '');
  const defaultVideo = opts.videoBytes ?? FAKE_MP4;
  const jobs = new Map<string, FakeRequest>();
  const statusFaults: StatusFault[] = [];
  const submitFaults: SubmitFault[] = [];
  const resultFaults: ResultFault[] = [];
  const streamFaults: StreamFault[] = [];
  const timers = new Set<NodeJS.Timeout>();
  /** Per request: the timer for its next change, and the streams told of each one. */
  const ticks = new Map<string, NodeJS.Timeout>();
  const watchers = new Map<string, Set<() => void>>();
  const signer = createFalSigner();
  const deliveries = createDeliveries<'requestId', FalWebhookFault>({
    idKey: 'requestId',
    delayMs: opts.webhookDelayMs ?? 0,
    sign: (requestId, body, timestampS, fault) =>
      signer.headers(requestId, body, timestampS, {
        spoil: fault !== undefined && 'badSignature' in fault,
        unknownKey: fault !== undefined && 'unknownKey' in fault,
      }),
  });
  let plan: Plan = {};
  let holdNext = false;
  let base = '';
  const escapedPrefix = prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const requestsPath = new RegExp(
    `^${escapedPrefix}${APP}/requests/([^/]+)(/status/stream|/status|/cancel)?$`,
  );

  const fake: Omit<FakeFal, 'queueUrl' | 'storageUrl' | 'jwksUrl' | 'close'> = {
    submissions: [],
    statusPolls: [],
    resultFetches: [],
    cancels: [],
    requests: [],
    uploads: [],
    jwksFetches: 0,
    rotateKey: () => signer.rotate(),
    webhooks: deliveries.records,
    failWebhook: (...faults) => deliveries.fail(...faults),
    webhookSent: (n) => deliveries.settled(n),
    resend: (index) => deliveries.resend(index),
    streams: [],
    failStream: (...faults) => void streamFaults.push(...faults),
    completedAt(id) {
      const job = jobs.get(id);
      return job?.phase(Date.now()).status === 'COMPLETED' ? job.endAt() : undefined;
    },
    failStatus: (...faults) => void statusFaults.push(...faults),
    failSubmit: (fault) => void submitFaults.push(fault),
    failResult: (...faults) => void resultFaults.push(...faults),
    nextOutcome: (outcome) => void (plan = mergeOutcome(plan, outcome)),
    hold(id) {
      if (id === undefined) holdNext = true;
      const job = id === undefined ? undefined : jobs.get(id);
      if (job) {
        job.held = true;
        tick(job);
      }
    },
    release(id) {
      const job = jobs.get(id);
      if (job) {
        job.held = false;
        job.releasedAt = Date.now();
        tick(job);
      }
    },
  };

  const storage = createFakeStorage(() => base, fake.uploads);

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const requestUrls = (id: string) => {
    const u = `${base}${prefix}${APP}/requests/${id}`;
    return { request_id: id, response_url: u, status_url: `${u}/status`, cancel_url: `${u}/cancel` };
  };

  /**
   * Tells the request's streams of its phase now, sends its webhook once it is COMPLETED, and
   * sets a timer for its next change, so pushes leave at the moment of the change. A timer that
   * fires a moment early changes nothing and is set again.
   */
  function tick(job: FakeRequest): void {
    clearTimeout(ticks.get(job.id));
    ticks.delete(job.id);
    const now = Date.now();
    for (const watcher of watchers.get(job.id) ?? []) watcher();
    if (job.phase(now).status === 'COMPLETED' && !job.announced) {
      job.announced = true;
      if (job.webhook !== undefined) deliveries.deliver(job.id, job.webhook, webhookBody(job));
    }
    const next = job.nextChangeAt(now);
    if (next !== undefined)
      ticks.set(
        job.id,
        setTimeout(() => tick(job), Math.max(1, Math.ceil(next - now))),
      );
  }

  /** fal's envelope around what the result call answers: its body as `payload`, its status as the error. */
  function webhookBody(job: FakeRequest): string {
    const a = job.result(`${base}/files/${job.id}.mp4`, (job.plan.videoBytes ?? defaultVideo).length);
    const ids = { request_id: job.id, gateway_request_id: job.gatewayRequestId };
    return JSON.stringify(
      a.status === 200
        ? { ...ids, status: 'OK', payload: a.body }
        : { ...ids, status: 'ERROR', error: `Invalid status code: ${a.status}`, payload: a.body },
    );
  }

  function createJob(webhook: string | undefined): FakeRequest {
    const id = randomUUID();
    const job = new FakeRequest(
      id,
      Date.now(),
      opts.queuedMs ?? 50,
      plan.runMs ?? opts.runMs ?? 200,
      opts.queueAhead ?? 2,
      plan,
    );
    job.held = holdNext;
    job.webhook = webhook;
    plan = {};
    holdNext = false;
    jobs.set(id, job);
    tick(job);
    return job;
  }

  async function submit(
    req: IncomingMessage,
    res: ServerResponse,
    endpoint: string,
    authorized: boolean,
    webhook: string | undefined,
  ): Promise<void> {
    const raw = await readBody(req);
    const record: FakeFal['submissions'][number] = {
      endpoint,
      body: parseJson(raw),
      headers: flatHeaders(req),
      ...(webhook !== undefined && { webhook }),
      at: Date.now(),
    };
    fake.submissions.push(record);
    if (!authorized) return answer(res, { status: 401, body: { detail: 'Unauthorized' } });
    const fault = submitFaults.shift();
    if (fault && 'delayMs' in fault) await sleep(fault.delayMs);
    else if (fault) {
      if (fault.createTask) record.requestId = createJob(webhook).id;
      if ('reset' in fault) return void req.socket.destroy();
      return answer(res, faultAnswer(fault.status, fault.retryAfter, fault.body));
    }
    const detail = validateInput(record.body);
    if (detail.length > 0) return answer(res, { status: 422, body: { detail } });
    const job = createJob(webhook);
    record.requestId = job.id;
    answer(res, {
      status: 200,
      body: { status: 'IN_QUEUE', ...requestUrls(job.id), queue_position: job.queueAhead },
      headers: { 'x-fal-request-id': job.id },
    });
  }

  async function status(
    req: IncomingMessage,
    res: ServerResponse,
    id: string,
    logs: string | null,
  ): Promise<void> {
    const poll: FakeFal['statusPolls'][number] = { id, at: Date.now(), answered: 0 };
    fake.statusPolls.push(poll);
    const reply = (a: HttpAnswer, s?: string) => {
      poll.answered = a.status;
      if (s !== undefined) poll.status = s;
      answer(res, a);
    };
    const badLogs = logsProblem(logs);
    if (badLogs) return reply(badLogs);
    const fault = statusFaults.shift();
    if (fault && 'delayMs' in fault) await sleep(fault.delayMs);
    else if (fault && 'reset' in fault) return void req.socket.destroy();
    else if (fault) return reply(faultAnswer(fault.status, fault.retryAfter, undefined, fault.userTimeout));
    const job = jobs.get(id);
    if (!job) return reply({ status: 404, body: { detail: 'Request not found' } });
    const phase = job.phase(Date.now());
    reply(statusAnswer(job, phase, logs), phase.status);
  }

  /** What the status call answers for the request now (and what its stream sends). */
  function statusAnswer(job: FakeRequest, phase: Phase, logs: string | null): HttpAnswer {
    const urls = requestUrls(job.id);
    if (phase.status === 'IN_QUEUE')
      return { status: 202, body: { status: phase.status, queue_position: phase.position, ...urls } };
    const lines =
      logs === '1' || logs === 'true'
        ? [{ message: 'generating', level: 'INFO', source: 'USER', timestamp: new Date().toISOString() }]
        : [];
    if (phase.status === 'IN_PROGRESS')
      return { status: 202, body: { status: phase.status, logs: lines, ...urls } };
    const metrics = { inference_time: job.runMs / 1000 };
    return {
      status: 200,
      body: { status: phase.status, logs: lines, metrics, ...urls, ...job.completedError() },
    };
  }

  function statusStream(res: ServerResponse, id: string, logs: string | null): void {
    const record: StreamRecord = { id, at: Date.now(), status: 0, events: 0 };
    fake.streams.push(record);
    res.on('close', () => (record.closedAt = Date.now()));
    const refuse = (a: HttpAnswer) => {
      record.status = a.status;
      answer(res, a);
    };
    const badLogs = logsProblem(logs);
    if (badLogs) return refuse(badLogs);
    const fault = streamFaults.shift();
    if (fault && 'status' in fault) return refuse(faultAnswer(fault.status, undefined, undefined));
    const job = jobs.get(id);
    if (!job) return refuse({ status: 404, body: { detail: 'Request not found' } });
    const source = {
      snapshot: () => {
        const phase = job.phase(Date.now());
        const key = phase.status === 'IN_QUEUE' ? `IN_QUEUE ${phase.position}` : phase.status;
        return { key, body: statusAnswer(job, phase, logs).body, final: phase.status === 'COMPLETED' };
      },
      subscribe: (onChange: () => void) => {
        const set = watchers.get(id) ?? new Set();
        watchers.set(id, set.add(onChange));
        return () => void set.delete(onChange);
      },
    };
    serveStatusStream(res, record, source, fault, opts.streamKeepAliveMs);
  }

  async function result(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const fetch: FakeFal['resultFetches'][number] = { id, at: Date.now(), answered: 0 };
    fake.resultFetches.push(fetch);
    const fault = resultFaults.shift();
    if (fault && 'delayMs' in fault) await sleep(fault.delayMs);
    else if (fault && 'reset' in fault) return void req.socket.destroy();
    else if (fault) {
      const a = faultAnswer(fault.status, fault.retryAfter, fault.body ?? 'Bad Gateway');
      fetch.answered = a.status;
      return answer(res, a);
    }
    const job = jobs.get(id);
    const a: HttpAnswer = !job
      ? { status: 404, body: { detail: 'Request not found' } }
      : job.phase(Date.now()).status !== 'COMPLETED'
        ? { status: 400, body: { detail: 'Request is still in progress' } }
        : job.result(`${base}/files/${id}.mp4`, (job.plan.videoBytes ?? defaultVideo).length);
    fetch.answered = a.status;
    answer(res, a);
  }

  function cancel(res: ServerResponse, id: string): void {
    fake.cancels.push(id);
    const job = jobs.get(id);
    if (!job) return answer(res, { status: 404, body: { status: 'NOT_FOUND' } });
    if (job.phase(Date.now()).status === 'COMPLETED')
      return answer(res, { status: 400, body: { status: 'ALREADY_COMPLETED' } });
    job.cancelledAt = Date.now();
    tick(job);
    answer(res, { status: 202, body: { status: 'CANCELLATION_REQUESTED' } });
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', base);
    const path = url.pathname;
    const method = req.method ?? 'GET';
    fake.requests.push({ method, path: path + url.search, headers: flatHeaders(req), at: Date.now() });

    // Unauthenticated routes: the signing keys, the signed upload URL and the public CDN.
    if (method === 'GET' && path === '/.well-known/jwks.json') {
      fake.jwksFetches += 1;
      return answer(res, { status: 200, body: signer.jwks() });
    }
    const put = /^\/upload\/([^/]+)$/.exec(path);
    if (put && method === 'PUT') return storage.signedPut(req, res, put[1]!, url);
    if (method === 'GET' && path.startsWith('/files/')) {
      if (storage.serve(res, path)) return;
      const out = /^\/files\/([^/]+)\.mp4$/.exec(path);
      const job = out ? jobs.get(out[1]!) : undefined;
      if (job?.succeeded && job.phase(Date.now()).status === 'COMPLETED')
        return answerBytes(res, job.plan.videoBytes ?? defaultVideo, 'video/mp4');
      return answer(res, { status: 404, body: { detail: 'File not found' } });
    }

    const authorized = req.headers.authorization === `Key ${apiKey}`;
    const queued = requestsPath.exec(path);
    const isSubmit = method === 'POST' && path.startsWith(`${APP}/`) && !path.startsWith(`${APP}/requests/`);
    if (isSubmit)
      return submit(req, res, path.slice(1), authorized, url.searchParams.get('fal_webhook') ?? undefined);
    if (!queued && !(method === 'POST' && path === '/storage/upload/initiate'))
      return answer(res, { status: 404, body: { detail: 'Not Found' } });
    if (!authorized) return answer(res, { status: 401, body: { detail: 'Unauthorized' } });
    if (!queued) return storage.initiate(req, res, url);
    const id = queued[1] ?? '';
    const tail = queued[2];
    if (tail === '/status' && method === 'GET') return status(req, res, id, url.searchParams.get('logs'));
    if (tail === '/status/stream' && method === 'GET')
      return statusStream(res, id, url.searchParams.get('logs'));
    if (tail === '/cancel' && method === 'PUT') return cancel(res, id);
    if (tail === undefined && method === 'GET') return result(req, res, id);
    answer(res, { status: 405, body: { detail: 'Method Not Allowed' } });
  }

  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      if (!res.headersSent) answer(res, { status: 500, body: { detail: String(error) } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fake fal: no TCP address');
  base = `http://127.0.0.1:${address.port}`;

  // The same object the handlers update, so counters such as jwksFetches stay live.
  return Object.assign(fake, {
    queueUrl: base,
    storageUrl: base,
    jwksUrl: `${base}/.well-known/jwks.json`,
    async close() {
      for (const t of [...timers, ...ticks.values()]) clearTimeout(t);
      timers.clear();
      ticks.clear();
      deliveries.close();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
    },
  });
}

/** fal's 422 for a `logs` query that is not a boolean; undefined when it is fine or absent. */
function logsProblem(logs: string | null): HttpAnswer | undefined {
  if (logs === null || ['0', '1', 'true', 'false'].includes(logs)) return undefined;
  const detail = [
    { loc: ['query', 'logs'], msg: 'value could not be parsed to a boolean', type: 'type_error.bool' },
  ];
  return { status: 422, body: { detail } };
}
