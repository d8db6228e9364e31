// HTTP plumbing for the fake fal: request reading, JSON and byte answers, and the error
// answers the fault knobs produce (fal's flat `{detail, error_type}` shape).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestError, type HttpAnswer } from './lifecycle.js';

export function flatHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers))
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

export function answer(res: ServerResponse, a: HttpAnswer): void {
  const text = JSON.stringify(a.body);
  res.writeHead(a.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...a.headers,
  });
  res.end(text);
}

export function answerBytes(res: ServerResponse, bytes: Buffer, contentType: string): void {
  res.writeHead(200, { 'content-type': contentType, 'content-length': bytes.length });
  res.end(bytes);
}

export function faultAnswer(
  status: number,
  retryAfter: number | string | undefined,
  body: unknown,
  userTimeout = false,
): HttpAnswer {
  const base =
    body !== undefined
      ? { status, body }
      : userTimeout
        ? requestError(status, 'Request timed out', 'request_timeout')
        : status === 429
          ? requestError(status, 'Rate limit exceeded')
          : status >= 500
            ? requestError(
                status,
                'Upstream error',
                status === 502 ? 'runner_incomplete_response' : 'internal_error',
              )
            : requestError(status, 'Request failed');
  return {
    ...base,
    headers: {
      ...base.headers,
      ...(retryAfter !== undefined && { 'retry-after': String(retryAfter) }),
      ...(userTimeout && { 'x-fal-request-timeout-type': 'user' }),
    },
  };
}
