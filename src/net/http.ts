// The one function every outgoing HTTP call goes through: a shared keep-alive dispatcher,
// a timeout on every request, the caller's AbortSignal, a cap on every body read, and network
// failures sorted into "certainly not delivered" (connection refused) versus "may have been
// delivered".
import { Agent, request, type Dispatcher } from 'undici';

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Whole-request deadline; defaults to 30 s. */
  timeoutMs?: number;
  /** Largest body we read before giving up; defaults to 1 MiB (any provider JSON answer fits). */
  maxBodyBytes?: number;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON when the body is JSON, the raw text otherwise ('' for an empty body). */
  body: unknown;
  text: string;
}

/** A failure below HTTP: no status line came back. */
export class NetworkError extends Error {
  override readonly name = 'NetworkError';
  /** True when the connection was refused, so the request never reached the server. */
  readonly refused: boolean;
  readonly timedOut: boolean;

  constructor(message: string, opts: { refused: boolean; timedOut: boolean; cause?: unknown }) {
    super(message, { cause: opts.cause });
    this.refused = opts.refused;
    this.timedOut = opts.timedOut;
  }
}

/** An answer whose body is over the request's `maxBodyBytes`: declared so, or seen while reading. */
export class ResponseTooLargeError extends Error {
  override readonly name = 'ResponseTooLargeError';
  readonly status: number;
  readonly limitBytes: number;
  /** True when `content-length` said so and no byte of the body was read. */
  readonly declared: boolean;
  readonly declaredBytes: number | undefined;

  constructor(opts: { status: number; limitBytes: number; declaredBytes?: number }) {
    super(
      opts.declaredBytes !== undefined
        ? `response declares ${opts.declaredBytes} bytes, over the ${opts.limitBytes}-byte cap`
        : `response body is more than ${opts.limitBytes} bytes`,
    );
    this.status = opts.status;
    this.limitBytes = opts.limitBytes;
    this.declared = opts.declaredBytes !== undefined;
    this.declaredBytes = opts.declaredBytes;
  }
}

export interface Http {
  send(req: HttpRequest): Promise<HttpResponse>;
  /** The dispatcher, for callers that stream (downloads). */
  readonly dispatcher: Dispatcher;
  close(): Promise<void>;
}

export const HTTP_DEFAULTS = {
  timeoutMs: 30_000,
  maxBodyBytes: 1024 * 1024,
  keepAliveTimeoutMs: 30_000,
  connections: 64,
} as const;

export function createHttp(options: { dispatcher?: Dispatcher } = {}): Http {
  const dispatcher =
    options.dispatcher ??
    new Agent({ keepAliveTimeout: HTTP_DEFAULTS.keepAliveTimeoutMs, connections: HTTP_DEFAULTS.connections });

  async function send(req: HttpRequest): Promise<HttpResponse> {
    const timeoutMs = req.timeoutMs ?? HTTP_DEFAULTS.timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
    try {
      const res = await request(req.url, {
        method: req.method,
        ...(req.headers ? { headers: req.headers } : {}),
        ...(req.body !== undefined ? { body: req.body } : {}),
        signal,
        dispatcher,
      });
      const headers = flattenHeaders(res.headers);
      const text = await readCapped(res, headers, req.maxBodyBytes ?? HTTP_DEFAULTS.maxBodyBytes);
      return { status: res.statusCode, headers, body: parseBody(text), text };
    } catch (error) {
      if (req.signal?.aborted) throw req.signal.reason ?? error;
      if (error instanceof ResponseTooLargeError) throw error;
      throw toNetworkError(error, timeout.aborted, timeoutMs);
    }
  }

  return {
    send,
    dispatcher,
    close: () => dispatcher.close(),
  };
}

/** Reads the body as UTF-8 text, never holding more than `limit` bytes of it. */
async function readCapped(
  res: Dispatcher.ResponseData,
  headers: Record<string, string>,
  limit: number,
): Promise<string> {
  // Destroying an undici body emits 'error'; with no listener that would crash the process.
  const abandon = () => res.body.on('error', () => undefined).destroy();
  const declared = Number(headers['content-length']);
  if (headers['content-length'] !== undefined && Number.isFinite(declared) && declared > limit) {
    abandon();
    throw new ResponseTooLargeError({ status: res.statusCode, limitBytes: limit, declaredBytes: declared });
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) {
      abandon();
      throw new ResponseTooLargeError({ status: res.statusCode, limitBytes: limit });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

export function flattenHeaders(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) out[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

export function parseBody(text: string): unknown {
  if (text === '') return '';
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function toNetworkError(error: unknown, timedOut: boolean, timeoutMs: number): NetworkError {
  if (timedOut)
    return new NetworkError(`request timed out after ${timeoutMs} ms`, {
      refused: false,
      timedOut: true,
      cause: error,
    });
  const code = errorCode(error);
  const refused = code === 'ECONNREFUSED';
  return new NetworkError(`network error${code ? ` (${code})` : ''}`, {
    refused,
    timedOut: false,
    cause: error,
  });
}

function errorCode(error: unknown): string | undefined {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('E')) return code;
  }
  return undefined;
}

/** Reads a `Retry-After` header (seconds or an HTTP date) as milliseconds. */
export function retryAfterMs(headers: Record<string, string>, now = Date.now()): number | undefined {
  const raw = headers['retry-after'];
  if (raw === undefined) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
