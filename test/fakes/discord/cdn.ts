// The fake CDN: attachment files with signed URLs (ex/is/hm) that can expire and be refreshed,
// plus the undocumented POST /attachments/refresh-urls.
import { createHmac } from 'node:crypto';
import { ApiError, bodyObject, ok, type RouteResult } from './http.js';
import { route, type Route } from './router.js';
import type { StoredAttachment } from './types.js';
import type { World } from './world.js';

const DAY_SECONDS = 24 * 60 * 60;

export interface PublishInput {
  channelId: string;
  filename: string;
  bytes: Buffer;
  contentType?: string | undefined;
  description?: string | undefined;
  ephemeral?: boolean;
}

/** Stores the bytes and returns the attachment object with a freshly signed URL. */
export function publishAttachment(world: World, input: PublishInput): StoredAttachment {
  const id = world.nextId();
  // Discord swaps spaces and most punctuation in upload names for underscores.
  const filename = input.filename.replace(/[^\w.-]/g, '_') || 'unknown';
  world.cdn.set(id, {
    id,
    channelId: input.channelId,
    filename,
    bytes: input.bytes,
    contentType: input.contentType,
    signatures: new Set(),
  });
  const url = signedUrl(world, id);
  return {
    id,
    filename,
    size: input.bytes.length,
    ...(input.contentType === undefined ? {} : { content_type: input.contentType }),
    ...(input.description === undefined ? {} : { description: input.description }),
    ...(input.ephemeral === true ? { ephemeral: true } : {}),
    url,
    proxy_url: url,
    bytes: input.bytes,
  };
}

/** Issues a new signature for the file; earlier ones stay valid until the file is expired. */
export function signedUrl(world: World, id: string): string {
  const entry = world.cdn.get(id);
  if (entry === undefined) throw new Error(`no CDN file ${id}`);
  const issued = Math.floor(Date.now() / 1000);
  const ex = (issued + DAY_SECONDS).toString(16);
  const is = issued.toString(16);
  const hm = createHmac('sha256', world.signingKey)
    .update(`${id}:${ex}:${is}:${world.nextId()}`)
    .digest('hex');
  entry.signatures.add(hm);
  return `${world.baseUrl}/cdn/attachments/${entry.channelId}/${id}/${encodeURIComponent(entry.filename)}?ex=${ex}&is=${is}&hm=${hm}&`;
}

export function expireAttachment(world: World, id: string): void {
  const entry = world.cdn.get(id);
  if (entry === undefined) throw new Error(`expireAttachment: no attachment ${id}`);
  entry.signatures.clear();
}

const idFromUrl = (url: string): string | undefined => /\/attachments\/\d+\/(\d+)\//.exec(url)?.[1];

export const cdnRoutes: Route[] = [
  route(
    'GET',
    /^\/cdn\/attachments\/(\d+)\/(\d+)\/([^/]+)$/,
    'none',
    ({ world, params, query }): RouteResult => {
      const entry = world.cdn.get(params[1] ?? '');
      const valid =
        entry !== undefined &&
        entry.channelId === params[0] &&
        entry.filename === params[2] &&
        entry.signatures.has(query.get('hm') ?? '');
      if (!valid) {
        return {
          status: 404,
          raw: { bytes: Buffer.from('This content is no longer available.'), contentType: 'text/plain' },
        };
      }
      return {
        status: 200,
        raw: { bytes: entry.bytes, contentType: entry.contentType ?? 'application/octet-stream' },
      };
    },
  ),
];

export const refreshRoutes: Route[] = [
  route('POST', /^\/attachments\/refresh-urls$/, 'bot', ({ world, body }) => {
    const urls = bodyObject(body).attachment_urls;
    if (!Array.isArray(urls) || urls.length > 50 || !urls.every((u) => typeof u === 'string')) {
      throw new ApiError(400, 50035, 'Invalid Form Body', { attachment_urls: { _errors: [] } });
    }
    return ok({
      refreshed_urls: urls.map((original) => {
        const id = idFromUrl(original);
        const refreshed = id !== undefined && world.cdn.has(id) ? signedUrl(world, id) : original;
        return { original, refreshed };
      }),
    });
  }),
];
