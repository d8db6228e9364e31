// The webhook listener (docs/push.md): `POST /webhooks/wavespeed` and `POST /webhooks/fal`, each
// accepted only with a valid signature over the raw body. node:http rather than a framework: two
// routes, and the signature needs the exact bytes, which a body-parsing framework would have us
// dig back out. A delivery is a hint: it names a task whose job then polls at once, and nothing
// in its body is believed.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger.js';
import type { ProviderId } from '../providers/types.js';
import type { FalKeys } from './keys.js';
import { MAX_SKEW_S, verifyFal, verifyWaveSpeed, type Verdict } from './signatures.js';

export const WEBHOOK_DEFAULTS = {
  /** A provider's delivery is a few KiB (fal's holds the model output's metadata); more is not one. */
  maxBodyBytes: 256 * 1024,
  /** A slow sender gets this long for its whole request. */
  requestTimeoutMs: 10_000,
} as const;

export interface WebhookListenerOptions {
  host?: string;
  port: number;
  log: Logger;
  /** Wakes the job of a provider task; false when this process has no open job for it. */
  hint(provider: ProviderId, taskId: string): boolean;
  /** WaveSpeed's secret (absent: no WaveSpeed key, and its path answers 404). */
  waveSpeedSecret?: () => Promise<string>;
  /** fal's signing keys (absent: no fal key, and its path answers 404). */
  falKeys?: FalKeys;
  /** Seconds since the epoch; tests move it. */
  nowS?: () => number;
  maxBodyBytes?: number;
}

export interface WebhookListener {
  /** Where it listens, e.g. http://127.0.0.1:8787 */
  url: string;
  close(): Promise<void>;
}

/**
 * Deliveries already acted on, by delivery id, kept as long as the same delivery could still
 * pass the timestamp check (twice the allowed skew); a bounded map, oldest forgotten first.
 */
class SeenDeliveries {
  readonly #seen = new Map<string, number>();
  readonly #ttlMs = 2 * MAX_SKEW_S * 1000;
  readonly #max = 100_000;

  has(id: string, now: number): boolean {
    const at = this.#seen.get(id);
    return at !== undefined && now - at < this.#ttlMs;
  }

  add(id: string, now: number): void {
    this.#seen.set(id, now);
    for (const [key, at] of this.#seen) {
      if (this.#seen.size <= this.#max && now - at < this.#ttlMs) break;
      this.#seen.delete(key);
    }
  }
}

class TooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) return reject(new TooLarge());
    const chunks: Buffer[] = [];
    let total = 0;
    req.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > limit) {
        req.removeAllListeners('data');
        reject(new TooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks, total)));
    req.on('error', reject);
  });
}

function answer(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The task a verified delivery is about: WaveSpeed names it in the body, fal in a signed header. */
function taskOf(provider: ProviderId, headers: IncomingMessage['headers'], body: Buffer): string | undefined {
  if (provider === 'fal') {
    const id = headers['x-fal-webhook-request-id'];
    return typeof id === 'string' && id !== '' ? id : undefined;
  }
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { id?: unknown };
    return typeof parsed.id === 'string' && parsed.id !== '' ? parsed.id : undefined;
  } catch {
    return undefined;
  }
}

export async function startWebhookListener(opts: WebhookListenerOptions): Promise<WebhookListener> {
  const nowS = opts.nowS ?? (() => Math.floor(Date.now() / 1000));
  const limit = opts.maxBodyBytes ?? WEBHOOK_DEFAULTS.maxBodyBytes;
  const seen = new SeenDeliveries();
  const log = opts.log.child({ component: 'webhooks' });

  async function verify(provider: ProviderId, req: IncomingMessage, rawBody: Buffer): Promise<Verdict> {
    const input = { headers: req.headers, rawBody, nowS: nowS() };
    if (provider === 'wavespeed') {
      const secret = await (opts.waveSpeedSecret as () => Promise<string>)();
      return verifyWaveSpeed({ ...input, secret });
    }
    const keys = opts.falKeys as FalKeys;
    const verdict = verifyFal({ ...input, keys: await keys.current() });
    // Signed with a key fal published since we fetched them: fetch again (at most once a minute).
    if (!verdict.ok && verdict.reason === 'bad_signature')
      return verifyFal({ ...input, keys: await keys.refresh() });
    return verdict;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const provider: ProviderId | undefined =
      path === '/webhooks/wavespeed' ? 'wavespeed' : path === '/webhooks/fal' ? 'fal' : undefined;
    if (!provider) return answer(res, 404, { error: 'not_found' });
    // On the two paths, whatever is not a verified delivery is a 401 and changes nothing.
    const refuse = (reason: string, fields: Record<string, unknown> = {}) => {
      log.warn({ provider, reason, ...fields }, 'webhook refused');
      return answer(res, 401, { error: reason });
    };
    const configured = provider === 'wavespeed' ? opts.waveSpeedSecret : opts.falKeys;
    if (req.method !== 'POST') return refuse('not_a_delivery', { method: req.method });
    // A provider without a key sends us nothing; a delivery in its name cannot be checked.
    if (!configured) return refuse('provider_off');
    let rawBody: Buffer;
    try {
      rawBody = await readBody(req, limit);
    } catch (error) {
      if (!(error instanceof TooLarge)) throw error;
      res.setHeader('connection', 'close');
      return refuse('too_large', { limitBytes: limit });
    }
    let verdict: Verdict;
    try {
      verdict = await verify(provider, req, rawBody);
    } catch (error) {
      // The secret or the keys could not be fetched: refused, and the provider delivers again.
      return refuse('keys_unavailable', { err: error });
    }
    if (!verdict.ok) return refuse(verdict.reason);
    const deliveryKey = `${provider}:${verdict.deliveryId}`;
    const now = nowS() * 1000;
    if (seen.has(deliveryKey, now)) {
      log.debug({ provider, deliveryId: verdict.deliveryId }, 'webhook duplicate ignored');
      return answer(res, 200, { ok: true, duplicate: true });
    }
    seen.add(deliveryKey, now);
    const taskId = taskOf(provider, req.headers, rawBody);
    // Accepted either way: a task we do not know (another process's, or a job already over) is
    // no reason for the provider to deliver again.
    const woke = taskId !== undefined && opts.hint(provider, taskId);
    log.info({ provider, providerJobId: taskId, woke }, 'webhook received');
    return answer(res, 200, { ok: true });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.error({ err: error }, 'webhook handling failed');
      if (!res.headersSent) answer(res, 500, { error: 'internal' });
      else res.destroy();
    });
  });
  server.requestTimeout = WEBHOOK_DEFAULTS.requestTimeoutMs;
  server.headersTimeout = WEBHOOK_DEFAULTS.requestTimeoutMs;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host === '::' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
