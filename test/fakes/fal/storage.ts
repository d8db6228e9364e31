// fal storage inside the fake (protocols §2.9): `initiate` hands out a signed upload URL and the
// file URL; the PUT to the signed URL must carry no Authorization; stored files are then served.
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { answer, answerBytes, parseJson, readBody } from './http.js';
import { isRecord } from './validate.js';

export interface UploadRecord {
  fileName: string;
  contentType: string;
  bytes: Buffer;
  url: string;
}

interface Ticket {
  signature: string;
  contentType: string;
  fileName: string;
  fileUrl: string;
}

export function createFakeStorage(base: () => string, uploads: UploadRecord[]) {
  const tickets = new Map<string, Ticket>();
  const stored = new Map<string, { bytes: Buffer; contentType: string }>();

  async function initiate(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const body = parseJson(await readBody(req));
    if (url.searchParams.get('storage_type') !== 'fal-cdn-v3') {
      return answer(res, { status: 400, body: { detail: 'Unsupported storage type' } });
    }
    const fields = isRecord(body) ? body : {};
    const { content_type: contentType, file_name: fileName } = fields;
    if (typeof contentType !== 'string' || typeof fileName !== 'string') {
      const detail = [
        { loc: ['body'], msg: 'content_type and file_name are required', type: 'value_error.missing' },
      ];
      return answer(res, { status: 422, body: { detail } });
    }
    const token = randomUUID();
    const signature = randomBytes(16).toString('hex');
    const fileUrl = `${base()}/files/uploads/${token}/${encodeURIComponent(fileName)}`;
    tickets.set(token, { signature, contentType, fileName, fileUrl });
    const uploadUrl = `${base()}/upload/${token}?X-Goog-Signature=${signature}`;
    answer(res, { status: 200, body: { upload_url: uploadUrl, file_url: fileUrl } });
  }

  async function signedPut(
    req: IncomingMessage,
    res: ServerResponse,
    token: string,
    url: URL,
  ): Promise<void> {
    const bytes = await readBody(req);
    const ticket = tickets.get(token);
    if (req.headers.authorization !== undefined) {
      return answer(res, { status: 400, body: { detail: 'Authorization is not allowed on a signed URL' } });
    }
    if (!ticket || url.searchParams.get('X-Goog-Signature') !== ticket.signature) {
      return answer(res, { status: 403, body: { detail: 'SignatureDoesNotMatch' } });
    }
    // The content type is part of what the URL signs.
    if (req.headers['content-type'] !== ticket.contentType) {
      return answer(res, { status: 403, body: { detail: 'Content-Type does not match the signature' } });
    }
    tickets.delete(token);
    stored.set(new URL(ticket.fileUrl).pathname, { bytes, contentType: ticket.contentType });
    uploads.push({ fileName: ticket.fileName, contentType: ticket.contentType, bytes, url: ticket.fileUrl });
    res.writeHead(200).end();
  }

  /** Serves an uploaded file; false when the path is not one. */
  function serve(res: ServerResponse, path: string): boolean {
    const file = stored.get(path);
    if (!file) return false;
    answerBytes(res, file.bytes, file.contentType);
    return true;
  }

  return { initiate, signedPut, serve };
}
