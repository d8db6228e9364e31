// fal's status stream: `GET <status_url>/stream` answers server-sent events, one status object
// per change, and ends after COMPLETED (docs/push.md, "fal's status stream"). Events are read
// with eventsource-parser, which handles the framing (split chunks, comments, CRLF) we would
// otherwise get subtly wrong by hand.
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { parseBody } from '../../net/http.js';
import type { ProviderClient } from '../request.js';
import type { StreamEvent } from '../types.js';
import { phaseOf } from './poll.js';
import { statusAnswer, withQuery } from './wire.js';

/** An event larger than this is not a status: the stream is broken. */
const MAX_EVENT_BYTES = 64 * 1024;
/** How much of an error answer is read to say what went wrong. */
const MAX_ERROR_BYTES = 4 * 1024;

/** The stream URL for a request's status URL: `<status_url>/stream?logs=0`. */
export function streamUrl(statusUrl: string): string {
  const u = new URL(statusUrl);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/stream`;
  return withQuery(u.toString(), 'logs', '0');
}

/**
 * Yields the request's statuses until COMPLETED, then ends. Throws a ProviderError when the
 * stream cannot be opened, breaks, ends early or says something we cannot read as a status.
 */
export async function* followStatus(
  c: ProviderClient,
  statusUrl: string,
  signal: AbortSignal,
): AsyncGenerator<StreamEvent> {
  const res = await c.openStream(streamUrl(statusUrl), signal);
  try {
    if (res.status !== 200) {
      const text = await readSome(res.body, MAX_ERROR_BYTES);
      throw c.httpError('status stream', {
        status: res.status,
        headers: res.headers,
        text,
        body: parseBody(text),
      });
    }
    const pending: EventSourceMessage[] = [];
    let broken: string | undefined;
    const parser = createParser({
      onEvent: (event) => void pending.push(event),
      onError: (error) => {
        broken = error.message;
      },
      maxBufferSize: MAX_EVENT_BYTES,
    });
    const decoder = new TextDecoder();
    for await (const chunk of res.body) {
      parser.feed(decoder.decode(chunk, { stream: true }));
      if (broken !== undefined) throw c.error('protocol', `fal status stream: ${broken}`);
      for (const event of pending.splice(0)) {
        const status = readEvent(event);
        // A line that is not a status (a keep-alive with data, a new event type) is skipped:
        // the stream is still alive, and the next status says where the request is.
        if (status === undefined) continue;
        // An unknown status ends the job (docs/providers.md, "fal status strings"): the stream
        // stops and the poll schedule takes over, whose status call reads it and says so.
        if (status === 'unknown') throw c.error('protocol', 'fal status stream: unknown status');
        yield status;
        if (status.state === 'completed') return;
      }
    }
    if (signal.aborted) throw signal.reason;
    throw c.error('network', 'fal status stream ended before the request completed');
  } finally {
    res.close();
  }
}

function readEvent(event: EventSourceMessage): StreamEvent | 'unknown' | undefined {
  let data: unknown;
  try {
    data = JSON.parse(event.data);
  } catch {
    return undefined;
  }
  const parsed = statusAnswer.safeParse(data);
  if (!parsed.success) return undefined;
  const s = parsed.data;
  if (s.status === 'COMPLETED') return { state: 'completed' };
  return phaseOf(s) ?? 'unknown';
}

async function readSome(body: AsyncIterable<Buffer>, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    total += chunk.length;
    if (total >= limit) break;
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}
