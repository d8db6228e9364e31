// fal storage upload (protocols §2.9, the JS client's flow): ask for a signed URL with our key,
// PUT the bytes there without it, and hand back the CDN URL fal's models accept.
import type { HttpRequest, HttpResponse } from '../../net/http.js';
import { ProviderError } from '../errors.js';
import type { UploadInput } from '../types.js';
import { errorFromResponse } from './errors.js';
import { uploadTicket } from './wire.js';

/** fal documents no limit; ours bounds the memory one upload can hold. */
export const FAL_MAX_UPLOAD_BYTES = 20 * 1024 * 1024;

export interface FalUploadDeps {
  send: (req: Omit<HttpRequest, 'timeoutMs'>) => Promise<HttpResponse>;
  storageBase: string;
  /** Headers with our key, for the initiate call only. */
  jsonAuth: Record<string, string>;
  redact: (message: string) => string;
}

export async function uploadToFal(
  deps: FalUploadDeps,
  input: UploadInput,
  signal?: AbortSignal,
): Promise<string> {
  if (input.bytes.byteLength > FAL_MAX_UPLOAD_BYTES) {
    throw new ProviderError({
      kind: 'invalid_input',
      provider: 'fal',
      message: `fal upload: ${input.bytes.byteLength} bytes is over the ${FAL_MAX_UPLOAD_BYTES}-byte limit`,
    });
  }
  const withSignal = signal ? { signal } : {};
  const initiate = await deps.send({
    method: 'POST',
    url: `${deps.storageBase}/storage/upload/initiate?storage_type=fal-cdn-v3`,
    headers: deps.jsonAuth,
    body: JSON.stringify({ content_type: input.contentType, file_name: input.filename }),
    ...withSignal,
  });
  if (initiate.status < 200 || initiate.status >= 300)
    throw errorFromResponse('upload', initiate, deps.redact);
  const ticket = uploadTicket.safeParse(initiate.body);
  if (!ticket.success) {
    throw new ProviderError({
      kind: 'protocol',
      provider: 'fal',
      status: initiate.status,
      message: 'fal upload: answer without upload_url and file_url',
    });
  }
  // The signed URL is its own credential: our key must not travel to the storage bucket.
  const put = await deps.send({
    method: 'PUT',
    url: ticket.data.upload_url,
    headers: { 'Content-Type': input.contentType },
    body: input.bytes,
    ...withSignal,
  });
  if (put.status < 200 || put.status >= 300) throw errorFromResponse('upload', put, deps.redact);
  return ticket.data.file_url;
}
