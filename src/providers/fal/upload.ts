// fal storage upload (docs/providers.md, "fal uploads"): ask for a signed URL with our key,
// PUT the bytes there without it, and hand back the CDN URL fal's models accept.
import type { ProviderClient } from '../request.js';
import type { UploadInput } from '../types.js';
import { uploadTicket } from './wire.js';

export async function uploadToFal(
  c: ProviderClient,
  opts: { storageBase: string; maxImageBytes: number },
  input: UploadInput,
  signal?: AbortSignal,
): Promise<string> {
  if (input.bytes.byteLength > opts.maxImageBytes) {
    throw c.error(
      'invalid_input',
      `fal upload: ${input.bytes.byteLength} bytes is over the ${opts.maxImageBytes}-byte limit`,
    );
  }
  const initiate = await c.send(
    {
      op: 'upload',
      method: 'POST',
      url: `${opts.storageBase}/storage/upload/initiate?storage_type=fal-cdn-v3`,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ content_type: input.contentType, file_name: input.filename }),
    },
    signal,
  );
  if (initiate.status < 200 || initiate.status >= 300) throw c.httpError('upload', initiate);
  const ticket = uploadTicket.safeParse(initiate.body);
  if (!ticket.success) {
    throw c.error('protocol', 'fal upload: answer without upload_url and file_url', {
      status: initiate.status,
    });
  }
  // The signed URL is its own credential: our key must not travel to the storage bucket.
  const put = await c.send(
    {
      op: 'upload',
      method: 'PUT',
      url: ticket.data.upload_url,
      headers: { 'Content-Type': input.contentType },
      body: input.bytes,
      auth: false,
    },
    signal,
  );
  if (put.status < 200 || put.status >= 300) throw c.httpError('upload', put);
  return ticket.data.file_url;
}
