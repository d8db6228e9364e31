// fal's queue wire format for Luma Ray 2 Flash: the request body we send, zod schemas for
// every answer we read, and the queue URLs (taken from fal's answers, rebuilt only as a fallback).
import { z } from 'zod';
import type { HttpResponse } from '../../net/http.js';
import { falDurationSeconds } from '../catalog.js';
import type { ErrorInfo, ProviderHooks } from '../request.js';
import type { VideoRequest } from '../types.js';

export const FAL_DEFAULT_ENDPOINT = 'fal-ai/luma-dream-machine/ray-2-flash/image-to-video';

/** The model input, as fal names it (docs/providers.md, "fal submit"). Optional fields only when set. */
export function toFalInput(req: VideoRequest): Record<string, unknown> {
  return {
    prompt: req.prompt,
    image_url: req.imageUrl,
    aspect_ratio: req.aspectRatio,
    duration: `${falDurationSeconds(req.durationSeconds)}s`,
    ...(req.resolution !== undefined && { resolution: req.resolution }),
    ...(req.loop !== undefined && { loop: req.loop }),
    ...(req.endImageUrl !== undefined && { end_image_url: req.endImageUrl }),
  };
}

// A URL we cannot use is treated as absent, so the fallback applies instead of failing the job.
const queueUrlField = z
  .url({ protocol: /^https?$/ })
  .optional()
  .catch(undefined);
const position = z.number().int().nonnegative().nullish().catch(undefined);

export const submitAnswer = z.object({
  request_id: z.string().min(1),
  status_url: queueUrlField,
  response_url: queueUrlField,
  cancel_url: queueUrlField,
  queue_position: position,
});

export const statusAnswer = z.object({
  status: z.string(),
  queue_position: position,
  // Only the newest official client reads these on COMPLETED (docs/providers.md, "fal status strings").
  error: z.string().nullish().catch(undefined),
  error_type: z.string().nullish().catch(undefined),
});

export const resultAnswer = z.object({ video: z.object({ url: z.url({ protocol: /^https?$/ }) }) });

export const cancelAnswer = z.object({ status: z.string() });

export const uploadTicket = z.object({
  upload_url: z.url({ protocol: /^https?$/ }),
  file_url: z.url({ protocol: /^https?$/ }),
});

/** FastAPI `detail` (422) or a request error `{detail, error_type}` (docs/providers.md, "fal errors"). */
export const errorBody = z.object({
  detail: z
    .union([
      z.string(),
      z.array(
        z.object({
          msg: z.string().optional().catch(undefined),
          type: z.string().optional().catch(undefined),
        }),
      ),
    ])
    .optional()
    .catch(undefined),
  error_type: z.string().optional().catch(undefined),
  message: z.string().optional().catch(undefined),
});

const MODERATION_TYPE = 'content_policy_violation';

export function isModerationType(errorType: string | null | undefined): boolean {
  return errorType === MODERATION_TYPE;
}

/**
 * What a fal error answer says: `X-Fal-Error-Type` (else the body's `error_type`) as the code,
 * the first readable line of the body (a `detail` string, `detail[0].msg`, or `message`), and
 * whether any part of it names the content policy.
 */
export function readFalError(res: HttpResponse): ErrorInfo {
  const parsed = errorBody.safeParse(res.body);
  const body = parsed.success ? parsed.data : {};
  const items = Array.isArray(body.detail) ? body.detail : [];
  const message = typeof body.detail === 'string' ? body.detail : (items[0]?.msg ?? body.message);
  const code = res.headers['x-fal-error-type'] ?? body.error_type;
  return {
    message,
    code,
    requestId: res.headers['x-fal-request-id'],
    moderation: code === MODERATION_TYPE || items.some((d) => d.type === MODERATION_TYPE),
  };
}

/** fal's departures from the shared error handling: its error shapes, and a moderation 422. */
export const falHooks: ProviderHooks = {
  readError: readFalError,
  kindFor: (status, info) => (status === 422 && info.moderation ? 'moderation' : undefined),
};

/** A request's queue URLs, all present. */
export interface QueueUrls {
  id: string;
  statusUrl: string;
  resultUrl: string;
  cancelUrl: string;
}

/**
 * The queue URLs for a request. fal's submit answer carries them and fal says not to build
 * them; this is only for an answer (or a stored ref) without them. They use the owner and alias
 * only, never the endpoint's sub-path (docs/providers.md, "fal queue URLs").
 */
export function fallbackQueueUrls(queueUrl: string, endpoint: string, id: string): QueueUrls {
  const parts = endpoint.split('/').filter((p) => p !== '');
  // 'workflows/…' and 'comfy/…' ids carry a namespace before owner and alias.
  const appParts = parts.slice(0, parts[0] === 'workflows' || parts[0] === 'comfy' ? 3 : 2);
  const base = `${queueUrl.replace(/\/+$/, '')}/${appParts.join('/')}/requests/${encodeURIComponent(id)}`;
  return { id, statusUrl: `${base}/status`, resultUrl: base, cancelUrl: `${base}/cancel` };
}

/** Sets one query parameter, keeping whatever query the URL already has. */
export function withQuery(url: string, key: string, value: string): string {
  const u = new URL(url);
  u.searchParams.set(key, value);
  return u.toString();
}
