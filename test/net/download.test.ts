// download() against a real HTTP server on 127.0.0.1: declared and chunked bodies land whole in
// one buffer, a body over the cap is refused without reading it all, and a body cut short or a
// caller giving up surfaces as a NetworkError.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMediaBudget } from '../../src/media/budget.js';
import { download } from '../../src/net/download.js';
import { createHttp, NetworkError, type Http } from '../../src/net/http.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let baseUrl: string;
let handler: Handler;
let http: Http;

beforeEach(async () => {
  server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  http = createHttp();
});

afterEach(async () => {
  await http.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Writes `parts` one by one, each after the previous drained, with no content-length (chunked). */
function chunked(parts: Buffer[], contentType = 'video/mp4'): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': contentType });
    const next = (i: number) => {
      const part = parts[i];
      if (!part) return void res.end();
      res.write(part, () => setTimeout(() => next(i + 1), 1));
    };
    next(0);
  };
}

/** Resolves when the server side of the response is closed, and whether it had finished. */
function closedBy(res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => res.on('close', () => resolve(res.writableFinished)));
}

describe('download', () => {
  it('reads a body with a declared length into one Buffer', async () => {
    const body = randomBytes(3 * 1024 * 1024 + 17);
    handler = (_req, res) =>
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': body.length }).end(body);
    const got = await download(http, `${baseUrl}/v.mp4`, { maxBytes: 8 * 1024 * 1024, timeoutMs: 5_000 });
    expect(got.ok).toBe(true);
    if (!got.ok) return;
    expect(Buffer.isBuffer(got.bytes)).toBe(true);
    expect(got.bytes.equals(body)).toBe(true);
    expect(got.contentType).toBe('video/mp4');
  });

  it('accepts a body of exactly the cap', async () => {
    const body = randomBytes(4096);
    handler = (_req, res) => res.writeHead(200, { 'content-length': body.length }).end(body);
    const got = await download(http, `${baseUrl}/x`, { maxBytes: 4096, timeoutMs: 5_000 });
    expect(got.ok && got.bytes.equals(body)).toBe(true);
  });

  it('reads a chunked body of many parts', async () => {
    const parts = Array.from({ length: 40 }, () => randomBytes(50_000));
    handler = chunked(parts);
    const got = await download(http, `${baseUrl}/v.mp4`, { maxBytes: 4 * 1024 * 1024, timeoutMs: 5_000 });
    expect(got.ok).toBe(true);
    if (!got.ok) return;
    expect(got.bytes.equals(Buffer.concat(parts))).toBe(true);
  });

  it('does not keep the whole cap alive for a small chunked body', async () => {
    const parts = [randomBytes(1000), randomBytes(1000)];
    handler = chunked(parts);
    const got = await download(http, `${baseUrl}/v.mp4`, { maxBytes: 64 * 1024 * 1024, timeoutMs: 5_000 });
    expect(got.ok).toBe(true);
    if (!got.ok) return;
    expect(got.bytes.equals(Buffer.concat(parts))).toBe(true);
    expect(got.bytes.buffer.byteLength).toBeLessThanOrEqual(2 * got.bytes.length);
  });

  it('refuses a declared length over the cap without reading the body', async () => {
    let closed: Promise<boolean> | undefined;
    handler = (_req, res) => {
      closed = closedBy(res);
      res.writeHead(200, { 'content-length': 64 * 1024 * 1024 });
      // Only the start is ever sent: a client that waited for the rest would hang.
      res.write(randomBytes(1024));
    };
    const got = await download(http, `${baseUrl}/big`, { maxBytes: 1024 * 1024, timeoutMs: 5_000 });
    expect(got).toEqual({ ok: false, reason: 'too_large', size: 64 * 1024 * 1024 });
    expect(await closed).toBe(false);
  });

  it('stops reading a chunked body once it passes the cap', async () => {
    let closed: Promise<boolean> | undefined;
    handler = (_req, res) => {
      closed = closedBy(res);
      res.writeHead(200, { 'content-type': 'video/mp4' });
      // An endless body: only the client hanging up ends it.
      const more = () => {
        if (!res.destroyed) res.write(randomBytes(64 * 1024), () => setImmediate(more));
      };
      more();
    };
    const got = await download(http, `${baseUrl}/endless`, { maxBytes: 1024 * 1024, timeoutMs: 5_000 });
    expect(got).toEqual({ ok: false, reason: 'too_large', size: undefined });
    expect(await closed).toBe(false);
  });

  it('answers a non-2xx status without reading it as the file', async () => {
    handler = (_req, res) => res.writeHead(404, { 'content-type': 'text/plain' }).end('no such file');
    const got = await download(http, `${baseUrl}/missing`, { maxBytes: 1024, timeoutMs: 5_000 });
    expect(got).toEqual({ ok: false, reason: 'http_status', status: 404 });
  });

  it('throws a NetworkError when the server hangs up mid-body', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-length': 1024 * 1024 });
      res.write(randomBytes(100_000), () => res.destroy());
    };
    const error = await download(http, `${baseUrl}/cut`, {
      maxBytes: 2 * 1024 * 1024,
      timeoutMs: 5_000,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as NetworkError).timedOut).toBe(false);
  });

  it('throws when the caller aborts mid-body, and hangs up', async () => {
    const abort = new AbortController();
    let closed: Promise<boolean> | undefined;
    handler = (_req, res) => {
      closed = closedBy(res);
      res.writeHead(200, { 'content-length': 1024 * 1024 });
      res.write(randomBytes(1000), () => abort.abort(new Error('member left')));
    };
    await expect(
      download(http, `${baseUrl}/slow`, {
        maxBytes: 2 * 1024 * 1024,
        timeoutMs: 5_000,
        signal: abort.signal,
      }),
    ).rejects.toBeInstanceOf(NetworkError);
    expect(await closed).toBe(false);
  });

  it('throws a timed-out NetworkError when the body stalls past the deadline', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-length': 1024 });
      res.write(randomBytes(10));
    };
    const error = await download(http, `${baseUrl}/stall`, { maxBytes: 2048, timeoutMs: 200 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as NetworkError).timedOut).toBe(true);
  });
});

describe('download with a media budget', () => {
  it('leases the declared length once the headers arrive and hands the lease back with the bytes', async () => {
    const body = randomBytes(1000);
    handler = (_req, res) => res.writeHead(200, { 'content-length': body.length }).end(body);
    const budget = createMediaBudget(4096);
    const asked: number[] = [];
    const got = await download(http, `${baseUrl}/v.mp4`, {
      maxBytes: 4096,
      timeoutMs: 5_000,
      lease: (n, signal) => (asked.push(n), budget.acquire(n, signal)),
    });
    expect(asked).toEqual([1000]);
    expect(got.ok && got.lease?.bytes).toBe(1000);
    expect(budget.inUse).toBe(1000);
    if (got.ok) got.lease?.release();
    expect(budget.inUse).toBe(0);
  });

  it('leases the cap when no length is declared, and gives it back when the body is too large', async () => {
    handler = chunked([randomBytes(3000), randomBytes(3000)]);
    const budget = createMediaBudget(4096);
    const got = await download(http, `${baseUrl}/v.mp4`, {
      maxBytes: 4096,
      timeoutMs: 5_000,
      lease: (n, signal) => budget.acquire(n, signal),
    });
    expect(got).toMatchObject({ ok: false, reason: 'too_large' });
    expect(budget.inUse).toBe(0);
  });

  it('waits for memory without the wait counting against its deadline', async () => {
    const body = randomBytes(100);
    handler = (_req, res) => res.writeHead(200, { 'content-length': body.length }).end(body);
    const budget = createMediaBudget(100);
    const held = await budget.acquire(100);
    setTimeout(() => held.release(), 600);
    // The deadline is shorter than the wait for memory: it must still succeed.
    const got = await download(http, `${baseUrl}/v.mp4`, {
      maxBytes: 100,
      timeoutMs: 300,
      lease: (n, signal) => budget.acquire(n, signal),
    });
    expect(got.ok && got.bytes.equals(body)).toBe(true);
  });
});
