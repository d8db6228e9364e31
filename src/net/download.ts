// Downloads a file into memory with a byte cap and a deadline, reading no more than the cap:
// an input image from Discord's CDN, or a finished video from the provider.
//
// Memory: the bytes are written into one buffer as they arrive, never collected and copied at
// the end, so a download holds at most `maxBytes` plus the chunk in flight. Callers that share a
// media budget lease `maxBytes` before calling (a download may hold that much) and release the
// lease once they are done with the bytes; leasing first, before the request, keeps a download
// that waits for memory from holding a pooled connection meanwhile.
import { request } from 'undici';
import type { Http } from './http.js';
import { NetworkError } from './http.js';
import type { Lease } from '../media/budget.js';

export type DownloadResult =
  | { ok: true; bytes: Buffer; contentType: string | undefined; lease?: Lease }
  | { ok: false; reason: 'too_large'; size: number | undefined }
  | { ok: false; reason: 'http_status'; status: number };

export interface DownloadOptions {
  maxBytes: number;
  timeoutMs: number;
  signal?: AbortSignal;
  /**
   * Memory to lease before the body is read: called once the headers say how large it is (its
   * declared length, or `maxBytes`). The lease comes back with the bytes, for the caller to
   * release when done with them; on any other outcome it is released here.
   */
  lease?: (bytes: number, signal: AbortSignal) => Promise<Lease>;
}

export async function download(http: Http, url: string, opts: DownloadOptions): Promise<DownloadResult> {
  const timeout = new Deadline(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout.signal]) : timeout.signal;
  try {
    return await fetchInto(http, url, opts, timeout, signal);
  } finally {
    timeout.clear();
  }
}

/** The download's deadline, paused while it waits for memory (waiting in line is not slowness). */
class Deadline {
  readonly #controller = new AbortController();
  readonly signal = this.#controller.signal;
  #left: number;
  #since = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(ms: number) {
    this.#left = ms;
    this.resume();
  }

  get aborted(): boolean {
    return this.signal.aborted;
  }

  pause(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#left -= Date.now() - this.#since;
  }

  resume(): void {
    if (this.aborted || this.#timer !== undefined) return;
    this.#since = Date.now();
    this.#timer = setTimeout(
      () => this.#controller.abort(new Error('download deadline')),
      Math.max(0, this.#left),
    );
  }

  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

async function fetchInto(
  http: Http,
  url: string,
  opts: DownloadOptions,
  timeout: Deadline,
  signal: AbortSignal,
): Promise<DownloadResult> {
  let res: Awaited<ReturnType<typeof request>>;
  try {
    // undici's request() follows no redirects unless told to: a redirect answers as a non-2xx.
    res = await request(url, { method: 'GET', signal, dispatcher: http.dispatcher });
  } catch (error) {
    throw asNetworkError(error, timeout.aborted, opts.timeoutMs);
  }
  if (res.statusCode < 200 || res.statusCode >= 300) {
    await res.body.dump();
    return { ok: false, reason: 'http_status', status: res.statusCode };
  }
  // Destroying an undici body emits an error; with no listener it would crash the process.
  const abandon = () => res.body.on('error', () => undefined).destroy();
  const declared = declaredLength(res.headers['content-length']);
  if (declared !== undefined && declared > opts.maxBytes) {
    abandon();
    return { ok: false, reason: 'too_large', size: declared };
  }
  let lease: Lease | undefined;
  if (opts.lease) {
    timeout.pause();
    try {
      lease = await opts.lease(declared ?? opts.maxBytes, signal);
    } catch (error) {
      abandon();
      throw error;
    }
    timeout.resume();
  }
  try {
    const result = await readBody(res, opts, declared, abandon, timeout, lease);
    if (result.ok && lease) return { ...result, lease };
    lease?.release();
    return result;
  } catch (error) {
    lease?.release();
    throw error;
  }
}

async function readBody(
  res: Awaited<ReturnType<typeof request>>,
  opts: DownloadOptions,
  declared: number | undefined,
  abandon: () => void,
  timeout: Deadline,
  lease: Lease | undefined,
): Promise<DownloadResult> {
  // A declared length is the size. Otherwise the cap is reserved: on Linux a large allocation's
  // untouched pages are not resident, so RSS grows by what is written, though V8 counts the whole
  // reservation as external memory (more GC pressure) until the result is trimmed or dropped.
  // With a lease, the memory is the lease's (reused from its pool once released).
  const size = declared ?? Math.floor(opts.maxBytes);
  let buffer = lease ? lease.buffer(size) : Buffer.allocUnsafeSlow(size);
  let total = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      if (total + chunk.length > buffer.length) {
        abandon();
        if (declared === undefined || total + chunk.length > opts.maxBytes) {
          return { ok: false, reason: 'too_large', size: undefined };
        }
        throw new NetworkError(`download sent more than the ${declared} bytes it declared`, {
          refused: false,
          timedOut: false,
        });
      }
      chunk.copy(buffer, total);
      total += chunk.length;
    }
  } catch (error) {
    if (error instanceof NetworkError) throw error;
    throw asNetworkError(error, timeout.aborted, opts.timeoutMs);
  }
  // Mostly empty: one exact copy (the two together stay under the cap) so the result does not
  // keep the whole reservation alive; otherwise hand back a view of the buffer as it is.
  if (!lease && total <= buffer.length / 2) {
    const exact = Buffer.allocUnsafeSlow(total);
    buffer.copy(exact, 0, 0, total);
    buffer = exact;
  }
  const type = res.headers['content-type'];
  return {
    ok: true,
    bytes: buffer.subarray(0, total),
    contentType: typeof type === 'string' ? type : undefined,
  };
}

function declaredLength(header: string | string[] | undefined): number | undefined {
  if (typeof header !== 'string' || !/^\d+$/.test(header.trim())) return undefined;
  const n = Number(header);
  return Number.isSafeInteger(n) ? n : undefined;
}

function asNetworkError(error: unknown, timedOut: boolean, timeoutMs: number): NetworkError {
  if (timedOut)
    return new NetworkError(`download timed out after ${timeoutMs} ms`, {
      refused: false,
      timedOut: true,
      cause: error,
    });
  const code = (error as { code?: unknown } | undefined)?.code;
  return new NetworkError(`download failed${typeof code === 'string' ? ` (${code})` : ''}`, {
    refused: code === 'ECONNREFUSED',
    timedOut: false,
    cause: error,
  });
}
