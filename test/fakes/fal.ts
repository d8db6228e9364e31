// A fake fal.ai on 127.0.0.1 following protocols §2.12: queue submit/status/result/cancel, storage
// upload through a signed URL, output files, and fault knobs. Every URL it hands out is built
// on its own base (and an optional prefix), so a client that rebuilds URLs gets a 404.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { answer, answerBytes, faultAnswer, flatHeaders, parseJson, readBody } from './fal/http.js';
import { FakeRequest, mergeOutcome, type FakeOutcome, type HttpAnswer, type Plan } from './fal/lifecycle.js';
import { createFakeStorage, type UploadRecord } from './fal/storage.js';
import { validateInput } from './fal/validate.js';

export type { FakeOutcome } from './fal/lifecycle.js';

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
    at: number;
  }[];
  statusPolls: { id: string; at: number; answered: number; status?: string }[];
  resultFetches: { id: string; at: number; answered: number }[];
  cancels: string[];
  requests: { method: string; path: string; headers: Record<string, string>; at: number }[];
  uploads: UploadRecord[];
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
  const timers = new Set<NodeJS.Timeout>();
  let plan: Plan = {};
  let holdNext = false;
  let base = '';
  const escapedPrefix = prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const requestsPath = new RegExp(`^${escapedPrefix}${APP}/requests/([^/]+)(/status|/cancel)?$`);

  const fake: Omit<FakeFal, 'queueUrl' | 'storageUrl' | 'close'> = {
    submissions: [],
    statusPolls: [],
    resultFetches: [],
    cancels: [],
    requests: [],
    uploads: [],
    failStatus: (...faults) => void statusFaults.push(...faults),
    failSubmit: (fault) => void submitFaults.push(fault),
    failResult: (...faults) => void resultFaults.push(...faults),
    nextOutcome: (outcome) => void (plan = mergeOutcome(plan, outcome)),
    hold(id) {
      if (id === undefined) holdNext = true;
      const job = id === undefined ? undefined : jobs.get(id);
      if (job) job.held = true;
    },
    release(id) {
      const job = jobs.get(id);
      if (job) {
        job.held = false;
        job.releasedAt = Date.now();
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

  function createJob(): FakeRequest {
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
    plan = {};
    holdNext = false;
    jobs.set(id, job);
    return job;
  }

  async function submit(
    req: IncomingMessage,
    res: ServerResponse,
    endpoint: string,
    authorized: boolean,
  ): Promise<void> {
    const raw = await readBody(req);
    const record: FakeFal['submissions'][number] = {
      endpoint,
      body: parseJson(raw),
      headers: flatHeaders(req),
      at: Date.now(),
    };
    fake.submissions.push(record);
    if (!authorized) return answer(res, { status: 401, body: { detail: 'Unauthorized' } });
    const fault = submitFaults.shift();
    if (fault && 'delayMs' in fault) await sleep(fault.delayMs);
    else if (fault) {
      if (fault.createTask) record.requestId = createJob().id;
      if ('reset' in fault) return void req.socket.destroy();
      return answer(res, faultAnswer(fault.status, fault.retryAfter, fault.body));
    }
    const detail = validateInput(record.body);
    if (detail.length > 0) return answer(res, { status: 422, body: { detail } });
    const job = createJob();
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
    if (logs !== null && !['0', '1', 'true', 'false'].includes(logs)) {
      return reply({
        status: 422,
        body: {
          detail: [
            {
              loc: ['query', 'logs'],
              msg: 'value could not be parsed to a boolean',
              type: 'type_error.bool',
            },
          ],
        },
      });
    }
    const fault = statusFaults.shift();
    if (fault && 'delayMs' in fault) await sleep(fault.delayMs);
    else if (fault && 'reset' in fault) return void req.socket.destroy();
    else if (fault) return reply(faultAnswer(fault.status, fault.retryAfter, undefined, fault.userTimeout));
    const job = jobs.get(id);
    if (!job) return reply({ status: 404, body: { detail: 'Request not found' } });
    const withLogs = logs === '1' || logs === 'true';
    const phase = job.phase(Date.now());
    const urls = requestUrls(id);
    if (phase.status === 'IN_QUEUE')
      return reply(
        { status: 202, body: { status: phase.status, queue_position: phase.position, ...urls } },
        phase.status,
      );
    const lines = withLogs
      ? [{ message: 'generating', level: 'INFO', source: 'USER', timestamp: new Date().toISOString() }]
      : [];
    if (phase.status === 'IN_PROGRESS')
      return reply({ status: 202, body: { status: phase.status, logs: lines, ...urls } }, phase.status);
    const metrics = { inference_time: job.runMs / 1000 };
    reply(
      { status: 200, body: { status: phase.status, logs: lines, metrics, ...urls, ...job.completedError() } },
      phase.status,
    );
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
    answer(res, { status: 202, body: { status: 'CANCELLATION_REQUESTED' } });
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', base);
    const path = url.pathname;
    const method = req.method ?? 'GET';
    fake.requests.push({ method, path: path + url.search, headers: flatHeaders(req), at: Date.now() });

    // Unauthenticated routes: the signed upload URL and the public CDN.
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
    if (isSubmit) return submit(req, res, path.slice(1), authorized);
    if (!queued && !(method === 'POST' && path === '/storage/upload/initiate'))
      return answer(res, { status: 404, body: { detail: 'Not Found' } });
    if (!authorized) return answer(res, { status: 401, body: { detail: 'Unauthorized' } });
    if (!queued) return storage.initiate(req, res, url);
    const id = queued[1] ?? '';
    const tail = queued[2];
    if (tail === '/status' && method === 'GET') return status(req, res, id, url.searchParams.get('logs'));
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

  return {
    ...fake,
    queueUrl: base,
    storageUrl: base,
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
    },
  };
}
