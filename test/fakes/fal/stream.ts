// fal's status stream inside the fake (docs/providers.md, "fal status stream"): server-sent
// events of the status call's body, the current one at once and another at each change, ended
// after COMPLETED; and the ways a stream breaks, since a client must fall back to polling.
import type { ServerResponse } from 'node:http';

/** One fault per stream connection, in the order queued (`status` is answered by the caller). */
export type StreamFault =
  { status: number } | { resetAfterEvents: number } | { silent: true } | { garbage: true };

export interface StreamRecord {
  id: string;
  /** When the connection came. */
  at: number;
  /** The HTTP status answered. */
  status: number;
  /** When the response ended or the connection closed, either side (set by the caller). */
  closedAt?: number;
  /** `data:` events written, a garbage one included (keep-alive comments are not). */
  events: number;
}

/** What a stream shows of its request. */
export interface StreamSource {
  /** The status call's body now; `key` tells one state from the next, `final` ends the stream. */
  snapshot(): { key: string; body: unknown; final: boolean };
  /** Calls back at each change; returns an unsubscriber. */
  subscribe(onChange: () => void): () => void;
}

export function serveStatusStream(
  res: ServerResponse,
  record: StreamRecord,
  source: StreamSource,
  fault: Exclude<StreamFault, { status: number }> | undefined,
  keepAliveMs: number | undefined,
): void {
  record.status = 200;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  if (fault && 'silent' in fault) return void res.flushHeaders();
  const resetAfter = fault && 'resetAfterEvents' in fault ? fault.resetAfterEvents : undefined;
  // The headers go out before the socket is cut, so the client sees a stream that breaks.
  if (resetAfter === 0) return void res.write('', () => res.destroy());

  let last: string | undefined;
  let over = false;
  const unsubscribe = source.subscribe(update);
  const keepAlive =
    keepAliveMs === undefined ? undefined : setInterval(() => res.write(': keep-alive\n\n'), keepAliveMs);
  const stop = () => {
    over = true;
    unsubscribe();
    clearInterval(keepAlive);
  };
  res.on('close', stop);

  /** Writes one event; after the `resetAfterEvents`-th, the socket is destroyed once it is written. */
  function send(data: string): boolean {
    record.events += 1;
    const cut = resetAfter !== undefined && record.events >= resetAfter;
    res.write(`data: ${data}\n\n`, cut ? () => res.destroy() : undefined);
    if (cut) stop();
    return cut;
  }

  function update(): void {
    if (over) return;
    const now = source.snapshot();
    if (now.key === last) return;
    last = now.key;
    if (send(JSON.stringify(now.body))) return;
    if (now.final) {
      stop();
      res.end();
    }
  }

  if (fault && 'garbage' in fault) send('{"status": IN_QUEUE, this is not JSON');
  update();
}
