// net/http against loopback servers: every body read stops at its cap, whether the size is
// declared up front or only shows while streaming, and the server is cut off instead of drained.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HTTP_DEFAULTS, ResponseTooLargeError, createHttp, type Http } from '../../src/net/http.js';

const MiB = 1024 * 1024;
let http: Http;
const closers: (() => Promise<void>)[] = [];

beforeEach(() => {
  http = createHttp();
});

afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
  await http.close();
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Streams `total` bytes in 64 KiB chunks, honouring backpressure; counts what it handed over. */
function streamer(total: number, opts: { declare?: boolean } = {}) {
  const sent = { bytes: 0, closedEarly: false };
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const handler = (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, {
      'content-type': 'application/json',
      ...(opts.declare && { 'content-length': String(total) }),
    });
    res.on('close', () => {
      if (sent.bytes < total) sent.closedEarly = true;
    });
    const pump = () => {
      while (sent.bytes < total && !res.destroyed) {
        const n = Math.min(chunk.length, total - sent.bytes);
        sent.bytes += n;
        if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n)))
          return void res.once('drain', pump);
      }
      if (sent.bytes >= total) res.end();
    };
    pump();
  };
  return { sent, handler };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

describe('http body cap', () => {
  it('defaults to 1 MiB', () => {
    expect(HTTP_DEFAULTS.maxBodyBytes).toBe(MiB);
  });

  it('stops reading a 50 MiB stream at the cap and fails fast, without holding the body', async () => {
    const { sent, handler } = streamer(50 * MiB);
    const url = await serve(handler);
    const started = Date.now();
    const heapBefore = process.memoryUsage().arrayBuffers;
    const error = await rejection(http.send({ method: 'GET', url }));
    const heapAfter = process.memoryUsage().arrayBuffers;

    expect(error).toBeInstanceOf(ResponseTooLargeError);
    expect(error).toMatchObject({ limitBytes: MiB, declared: false });
    expect((error as Error).message).toMatch(/more than 1048576 bytes/);
    expect(Date.now() - started).toBeLessThan(3_000);
    // The server could hand over the cap plus what the socket buffers hold, never the whole body.
    await expect.poll(() => sent.closedEarly).toBe(true);
    expect(sent.bytes).toBeLessThan(20 * MiB);
    expect(heapAfter - heapBefore).toBeLessThan(20 * MiB);
  });

  it('refuses a declared content-length over the cap before reading the body', async () => {
    const { sent, handler } = streamer(50 * MiB, { declare: true });
    const url = await serve(handler);
    const error = await rejection(http.send({ method: 'GET', url, maxBodyBytes: 4 * MiB }));
    expect(error).toBeInstanceOf(ResponseTooLargeError);
    expect(error).toMatchObject({ limitBytes: 4 * MiB, declared: true });
    expect((error as Error).message).toContain(String(50 * MiB));
    await expect.poll(() => sent.closedEarly).toBe(true);
    expect(sent.bytes).toBeLessThan(20 * MiB);
  });

  it('takes a body of exactly the cap and refuses one byte more', async () => {
    const cap = 100_000;
    const exact = streamer(cap);
    const over = streamer(cap + 1);
    const exactUrl = await serve(exact.handler);
    const overUrl = await serve(over.handler);

    const res = await http.send({ method: 'GET', url: exactUrl, maxBodyBytes: cap });
    expect(res.status).toBe(200);
    expect(res.text).toHaveLength(cap);
    expect(await rejection(http.send({ method: 'GET', url: overUrl, maxBodyBytes: cap }))).toBeInstanceOf(
      ResponseTooLargeError,
    );
  });

  it('still reads multi-byte text and JSON under the cap', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ prompt: 'café ☕'.repeat(1000) }));
    });
    const res = await http.send({ method: 'GET', url });
    expect(res.body).toStrictEqual({ prompt: 'café ☕'.repeat(1000) });
  });

  it('a caller abort during the body read passes through as the caller reason', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"a":');
    });
    const controller = new AbortController();
    const pending = http.send({ method: 'GET', url, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('caller gave up')), 50);
    expect(await rejection(pending)).toMatchObject({ message: 'caller gave up' });
  });
});
