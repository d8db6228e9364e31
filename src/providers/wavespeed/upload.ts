// Copies an input image into WaveSpeed's media storage. The current SDKs use a ticket
// (POST /media/uploads, then PUT to a signed URL); the documented one-shot multipart
// endpoint is the fallback when the ticket endpoint does not exist (docs/providers.md,
// "WaveSpeed uploads").
import { FormData, Response } from 'undici';
import type { HttpResponse } from '../../net/http.js';
import type { ProviderClient } from '../request.js';
import type { UploadInput } from '../types.js';
import { uploadBinaryAnswer, uploadTicketAnswer } from './wire.js';

export async function uploadImage(
  t: ProviderClient,
  opts: { baseUrl: string; maxImageBytes: number },
  input: UploadInput,
  signal?: AbortSignal,
): Promise<string> {
  const { baseUrl } = opts;
  if (input.bytes.byteLength > opts.maxImageBytes) {
    throw t.error(
      'invalid_input',
      `image is ${input.bytes.byteLength} bytes; WaveSpeed takes at most ${opts.maxImageBytes} bytes`,
    );
  }
  const ticketRes = await t.send(
    {
      op: 'upload',
      method: 'POST',
      url: `${baseUrl}/api/v3/media/uploads`,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        filename: input.filename,
        size: input.bytes.byteLength,
        ...(input.contentType ? { content_type: input.contentType } : {}),
      }),
    },
    signal,
  );
  if (ticketRes.status === 404 || ticketRes.status === 405) return uploadBinary(t, baseUrl, input, signal);
  const failed = t.failureStatus(ticketRes);
  if (failed !== undefined) throw t.httpError('upload ticket', ticketRes, { status: failed });

  const ticket = uploadTicketAnswer.safeParse(ticketRes.body);
  if (!ticket.success) throw t.error('protocol', 'WaveSpeed upload ticket had no download_url or upload.url');
  const { download_url: downloadUrl, upload } = ticket.data.data;
  if (ticket.data.code !== undefined && ticket.data.code !== 200)
    throw t.error('protocol', `WaveSpeed upload ticket carried code ${ticket.data.code}`);
  if (upload.method !== undefined && upload.method.toUpperCase() !== 'PUT')
    throw t.error('protocol', `WaveSpeed upload ticket asks for ${upload.method}, expected PUT`);

  // The signed URL is its own credential: sending our key to the storage host would leak it.
  const putRes = await t.send(
    {
      op: 'upload',
      method: 'PUT',
      url: upload.url,
      headers: { ...upload.headers },
      body: input.bytes,
      auth: false,
    },
    signal,
  );
  if (putRes.status < 200 || putRes.status >= 300) throw storageError(t, putRes);
  return downloadUrl;
}

async function uploadBinary(
  t: ProviderClient,
  baseUrl: string,
  input: UploadInput,
  signal?: AbortSignal,
): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([input.bytes], { type: input.contentType }), input.filename);
  // net/http takes bytes, so let undici encode the multipart body and pick the boundary.
  const encoded = new Response(form);
  const body = new Uint8Array(await encoded.arrayBuffer());
  const contentType = encoded.headers.get('content-type') ?? 'multipart/form-data';
  const res = await t.send(
    {
      op: 'upload',
      method: 'POST',
      url: `${baseUrl}/api/v3/media/upload/binary`,
      headers: { 'Content-Type': contentType },
      body,
    },
    signal,
  );
  const failed = t.failureStatus(res);
  if (failed !== undefined) throw t.httpError('binary upload', res, { status: failed });
  const parsed = uploadBinaryAnswer.safeParse(res.body);
  if (!parsed.success) throw t.error('protocol', 'WaveSpeed binary upload answer had no download_url');
  return parsed.data.data.download_url;
}

/** The storage host is not WaveSpeed's API: its 401/403 mean an expired signature, not our key. */
function storageError(t: ProviderClient, res: HttpResponse) {
  const kind =
    res.status === 429
      ? 'rate_limited'
      : res.status >= 500
        ? 'unavailable'
        : res.status === 400 || res.status === 413
          ? 'invalid_input'
          : 'protocol';
  return t.error(kind, `WaveSpeed storage PUT answered HTTP ${res.status}`, { status: res.status });
}
