// The health and metrics listener on node:http: GET /healthz (200 `{"status":"ok"}`, or 503 naming
// the failing parts) and GET /metrics (the Prometheus text); 404 for any other path. It binds
// METRICS_HOST:METRICS_PORT, loopback by default. See docs/operations.md.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger.js';
import type { HealthReport } from './health.js';

export interface OpsServerOptions {
  host: string;
  /** 0 picks a free port; `url` tells which. */
  port: number;
  health(): Promise<HealthReport>;
  metrics: { text(): Promise<string>; readonly contentType: string };
  log: Logger;
}

export interface OpsServer {
  /** Where it listens, e.g. http://127.0.0.1:9464 */
  readonly url: string;
  close(): Promise<void>;
}

/** A scrape or a probe is answered in milliseconds; anything slower is a stuck client. */
const REQUEST_TIMEOUT_MS = 10_000;

export async function startOpsServer(opts: OpsServerOptions): Promise<OpsServer> {
  const { log } = opts;
  const server = createServer((req, res) => {
    handle(opts, req, res).catch((error: unknown) => {
      log.error({ err: error, path: req.url }, 'health or metrics request failed');
      if (!res.headersSent) send(res, 500, 'application/json', JSON.stringify({ error: 'internal error' }));
      else res.destroy();
    });
  });
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = REQUEST_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => log.error({ err: error }, 'health and metrics listener error'));
  const { address, family, port } = server.address() as AddressInfo;
  const url = `http://${family === 'IPv6' ? `[${address}]` : address}:${port}`;
  log.info({ url }, 'health and metrics listening');
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections of a scraper would otherwise hold the close open.
        server.closeAllConnections();
      }),
  };
}

async function handle(opts: OpsServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://ops.invalid').pathname;
  if (path !== '/healthz' && path !== '/metrics') {
    send(res, 404, 'application/json', JSON.stringify({ error: 'not found' }));
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    send(res, 405, 'application/json', JSON.stringify({ error: 'method not allowed' }));
    return;
  }
  if (path === '/healthz') {
    const report = await opts.health();
    const body = report.ok ? { status: 'ok' } : { status: 'unavailable', failing: report.failing };
    send(res, report.ok ? 200 : 503, 'application/json', JSON.stringify(body), req.method === 'HEAD');
    return;
  }
  send(res, 200, opts.metrics.contentType, await opts.metrics.text(), req.method === 'HEAD');
}

function send(res: ServerResponse, status: number, type: string, body: string, headOnly = false): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(headOnly ? undefined : body);
}
