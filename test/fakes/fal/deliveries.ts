// Webhook deliveries for both provider fakes (shared by wavespeed.ts): POSTs a signed body, lets
// queued faults shape the next ones, records every attempt with the receiver's answer, and lets
// a test wait for answers or replay one. A receiver that refuses or drops the connection is
// recorded, never thrown: a fake that crashes on a bad target would hide what the bot did.
import { request } from 'node:http';

/** One fault per delivery, in the order queued. */
export type WebhookFault =
  | { drop: true }
  | { delayMs: number }
  | { duplicate: true }
  | { badSignature: true }
  | { staleTimestamp: true };

export interface WebhookRecord {
  url: string;
  /** When it was sent (for a dropped one: when it would have been). */
  at: number;
  /** The receiver's HTTP status; absent when dropped or when the connection failed. */
  status?: number;
  /** Why there is no status: the connection error. */
  error?: string;
  /** Never sent, by a `{ drop: true }` fault; headers and body are what it would have carried. */
  dropped?: true;
  /** The fault that shaped this delivery, if any. */
  fault?: WebhookFault | { unknownKey: true };
  headers: Record<string, string>;
  body: string;
}

/** How far back a `staleTimestamp` delivery is dated: twice the 300 s receivers accept. */
const STALE_S = 600;

export interface Deliveries<K extends string, F> {
  records: (WebhookRecord & Record<K, string>)[];
  fail(...faults: F[]): void;
  deliver(subject: string, url: string, body: string): void;
  /** Resolves once `n` deliveries in all (dropped ones included) have their outcome. */
  settled(n: number): Promise<void>;
  resend(index: number): Promise<WebhookRecord & Record<K, string>>;
  close(): void;
}

/**
 * `idKey` names the record's subject field (`taskId`, `requestId`); `sign` produces the
 * provider's headers for a body dated `timestampS`, and is told the fault so it can spoil the
 * signature (drop, delay, duplicate and staleness are handled here).
 */
export function createDeliveries<K extends string, F extends WebhookFault | { unknownKey: true }>(opts: {
  idKey: K;
  delayMs: number;
  sign: (subject: string, body: string, timestampS: number, fault: F | undefined) => Record<string, string>;
}): Deliveries<K, F> {
  type Rec = WebhookRecord & Record<K, string>;
  const records: Rec[] = [];
  const faults: F[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const inFlight = new Set<{ destroy(): void }>();
  let waiters: { n: number; resolve: () => void; reject: (error: Error) => void }[] = [];
  let done = 0;
  let closed = false;

  function settle(): void {
    done += 1;
    const ready = waiters.filter((w) => w.n <= done);
    waiters = waiters.filter((w) => w.n > done);
    for (const w of ready) w.resolve();
  }

  function post(subject: string, url: string, headers: Record<string, string>, body: string, fault?: F) {
    const record = { [opts.idKey]: subject, url, at: Date.now(), headers, body } as Rec;
    if (fault) record.fault = fault;
    records.push(record);
    return new Promise<Rec>((resolve) => {
      const finish = (error?: Error) => {
        if (error && record.status === undefined) record.error = error.message;
        settle();
        resolve(record);
      };
      try {
        const req = request(url, {
          method: 'POST',
          headers: { ...headers, 'content-length': Buffer.byteLength(body) },
          agent: false,
        });
        inFlight.add(req);
        req.on('response', (res) => {
          record.status = res.statusCode ?? 0;
          res.resume();
          res.on('close', () => {
            inFlight.delete(req);
            finish();
          });
        });
        req.on('error', (error) => {
          inFlight.delete(req);
          finish(error);
        });
        req.end(body);
      } catch (error) {
        finish(error as Error);
      }
    });
  }

  function send(subject: string, url: string, body: string, fault: F | undefined): void {
    const nowS = Math.floor(Date.now() / 1000);
    const timestampS = fault && 'staleTimestamp' in fault ? nowS - STALE_S : nowS;
    const headers = { 'content-type': 'application/json', ...opts.sign(subject, body, timestampS, fault) };
    if (fault && 'drop' in fault) {
      records.push({
        [opts.idKey]: subject,
        url,
        at: Date.now(),
        dropped: true,
        fault,
        headers,
        body,
      } as Rec);
      return settle();
    }
    // A duplicate is the second copy of the same bytes once the first has its answer.
    void post(subject, url, headers, body, fault).then(() => {
      if (fault && 'duplicate' in fault && !closed) void post(subject, url, headers, body, fault);
    });
  }

  return {
    records,
    fail: (...more) => void faults.push(...more),
    deliver(subject, url, body) {
      const fault = faults.shift();
      const delayMs = fault && 'delayMs' in fault ? fault.delayMs : opts.delayMs;
      if (delayMs <= 0) return send(subject, url, body, fault);
      const timer = setTimeout(() => {
        timers.delete(timer);
        send(subject, url, body, fault);
      }, delayMs);
      timers.add(timer);
    },
    settled(n) {
      if (n <= done) return Promise.resolve();
      if (closed) return Promise.reject(new Error('fake closed'));
      return new Promise((resolve, reject) => waiters.push({ n, resolve, reject }));
    },
    resend(index) {
      const original = records[index];
      if (!original) return Promise.reject(new Error(`no webhook delivery ${index}`));
      return post(original[opts.idKey], original.url, original.headers, original.body);
    },
    close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const req of inFlight) req.destroy();
      for (const w of waiters.splice(0)) w.reject(new Error('fake closed before the webhook was sent'));
    },
  };
}
