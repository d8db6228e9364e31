// Downloads a file into memory with a byte cap and a deadline, reading no more than the cap:
// an input image from Discord's CDN, or a finished video from the provider.
import { request } from 'undici';
import type { Http } from './http.js';
import { NetworkError } from './http.js';

export type DownloadResult =
  | { ok: true; bytes: Uint8Array; contentType: string | undefined }
  | { ok: false; reason: 'too_large'; size: number | undefined }
  | { ok: false; reason: 'http_status'; status: number };

export async function download(
  http: Http,
  url: string,
  opts: { maxBytes: number; timeoutMs: number; signal?: AbortSignal },
): Promise<DownloadResult> {
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
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
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > opts.maxBytes) {
    abandon();
    return { ok: false, reason: 'too_large', size: declared };
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > opts.maxBytes) {
        abandon();
        return { ok: false, reason: 'too_large', size: undefined };
      }
      chunks.push(chunk);
    }
  } catch (error) {
    throw asNetworkError(error, timeout.aborted, opts.timeoutMs);
  }
  const type = res.headers['content-type'];
  return {
    ok: true,
    bytes: Buffer.concat(chunks, total),
    contentType: typeof type === 'string' ? type : undefined,
  };
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
