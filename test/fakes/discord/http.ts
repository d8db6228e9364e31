// HTTP plumbing for the fake: typed API errors, route results, and body parsing (JSON and multipart).
import type { IncomingMessage } from 'node:http';
import type { RecordedFile } from './types.js';

/** Thrown by route handlers; the server turns it into Discord's JSON error body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly errors?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toBody(): Record<string, unknown> {
    return this.errors === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, errors: this.errors };
  }
}

/** Builds Discord's 400 "Invalid Form Body" error with the nested `errors` tree. */
export function formError(path: (string | number)[], code: string, message: string): ApiError {
  let errors: Record<string, unknown> = { _errors: [{ code, message }] };
  for (const key of [...path].reverse()) errors = { [String(key)]: errors };
  return new ApiError(400, 50035, 'Invalid Form Body', errors);
}

export interface RouteResult {
  status: number;
  /** JSON body; absent means no body (204). */
  body?: unknown;
  raw?: { bytes: Buffer; contentType: string };
  headers?: Record<string, string>;
}

export const ok = (body: unknown, status = 200): RouteResult => ({ status, body });
export const noContent = (): RouteResult => ({ status: 204 });

export interface ParsedBody {
  json: unknown;
  files: RecordedFile[];
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The JSON body as an object, or an empty object when there was none. */
export function bodyObject(body: ParsedBody): Record<string, unknown> {
  return isRecord(body.json) ? body.json : {};
}

export async function readRaw(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks);
}

export async function parseBody(raw: Buffer, contentType: string | undefined): Promise<ParsedBody> {
  if (raw.length === 0) return { json: undefined, files: [] };
  if (contentType?.startsWith('multipart/form-data')) return parseMultipart(raw, contentType);
  return { json: parseJson(raw.toString('utf8')), files: [] };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError(400, 50109, 'The request body contains invalid JSON.');
  }
}

// Node 20's fetch Request parses multipart without a dependency.
async function parseMultipart(raw: Buffer, contentType: string): Promise<ParsedBody> {
  const form = await new Request('http://fake.invalid/', {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: raw,
  }).formData();
  let json: unknown;
  const files: RecordedFile[] = [];
  for (const [field, value] of form.entries()) {
    if (typeof value === 'string') {
      if (field === 'payload_json') json = parseJson(value);
      continue;
    }
    files.push({
      field,
      name: value.name,
      contentType: value.type,
      bytes: Buffer.from(await value.arrayBuffer()),
    });
  }
  return { json, files };
}
