// WaveSpeed's wire format: the submit body we send, zod schemas for every answer we read, and
// how its error answers are read. Schemas are deliberately loose (extra fields ignored, optional
// ones nullish) because several shapes are unconfirmed (docs/providers.md, "WaveSpeed"); only the
// fields we act on are required.
import { z } from 'zod';
import type { HttpResponse } from '../../net/http.js';
import { ProviderError } from '../errors.js';
import type { ProviderHooks } from '../request.js';
import type { VideoRequest } from '../types.js';

const SIZE_FOR_ASPECT = { '16:9': '1280*720', '9:16': '720*1280' } as const;

export interface SubmitBody {
  image: string;
  prompt: string;
  size: (typeof SIZE_FOR_ASPECT)[keyof typeof SIZE_FOR_ASPECT];
  /** An integer (docs/providers.md, "WaveSpeed submit"): one older page said string. */
  duration: 5 | 10;
}

/** Maps our request to the body; throws `invalid_input` for anything Ray 2 on WaveSpeed cannot do. */
export function toSubmitBody(req: VideoRequest): SubmitBody {
  const refuse = (message: string): never => {
    throw new ProviderError({ kind: 'invalid_input', provider: 'wavespeed', message, notAccepted: true });
  };
  if (req.aspectRatio !== '16:9' && req.aspectRatio !== '9:16')
    refuse(`aspect ratio ${req.aspectRatio} is not offered on WaveSpeed (16:9 or 9:16 only)`);
  if (req.durationSeconds !== 5 && req.durationSeconds !== 10) refuse('duration must be 5 or 10 seconds');
  if (req.resolution !== undefined) refuse('WaveSpeed Ray 2 takes no resolution option');
  if (req.loop === true) refuse('WaveSpeed Ray 2 cannot loop');
  if (req.endImageUrl !== undefined) refuse('WaveSpeed Ray 2 takes no end image');
  const size = SIZE_FOR_ASPECT[req.aspectRatio as keyof typeof SIZE_FOR_ASPECT];
  return { image: req.imageUrl, prompt: req.prompt, size, duration: req.durationSeconds };
}

export const submitAnswer = z.object({ data: z.object({ id: z.string().min(1) }) });

export const pollAnswer = z.object({
  data: z.object({
    status: z.string(),
    outputs: z.array(z.unknown()).nullish(),
    has_nsfw_contents: z.array(z.unknown()).nullish(),
    error: z.string().nullish(),
    /** Task-level code (1200 moderation, 14xx input, 5xxx platform); sometimes a numeric string. */
    code: z.union([z.number(), z.string()]).nullish(),
  }),
});
export type Prediction = z.infer<typeof pollAnswer>['data'];

export const uploadTicketAnswer = z.object({
  code: z.number().optional(),
  data: z.object({
    download_url: z.string().min(1),
    upload: z.object({
      method: z.string().optional(),
      url: z.string().min(1),
      headers: z.record(z.string(), z.string()).nullish(),
    }),
  }),
});

export const uploadBinaryAnswer = z.object({ data: z.object({ download_url: z.string().min(1) }) });

/**
 * Error bodies (docs/providers.md, "WaveSpeed errors"): the `{code,message,data}` envelope, a
 * bare `{error}` string or `{error: {message}}`, or `{detail}`.
 */
const errorBody = z.union([
  z.object({ message: z.string().min(1), error_code: z.union([z.string(), z.number()]).optional() }),
  z.object({ error: z.string().min(1) }).transform((b) => ({ message: b.error, error_code: undefined })),
  z.object({ error: z.object({ message: z.string().min(1) }) }).transform((b) => ({
    message: b.error.message,
    error_code: undefined,
  })),
  z.object({ detail: z.string().min(1) }).transform((b) => ({ message: b.detail, error_code: undefined })),
]);

/** Reads whatever human text and provider code an error answer carries, if any. */
export function readErrorBody(body: unknown): { message?: string; code?: string | number } {
  const parsed = errorBody.safeParse(body);
  if (parsed.success) {
    const { message, error_code } = parsed.data;
    return error_code === undefined ? { message } : { message, code: error_code };
  }
  if (typeof body === 'string' && body.trim() !== '') return { message: body.trim() };
  return {};
}

const failureEnvelope = z.object({ code: z.number(), data: z.null().optional() });

/** The envelope's own `code`, for 2xx answers that still report a failure in the body. */
export function envelopeFailureCode(body: unknown): number | undefined {
  // Built once: zod compiles a schema on its first parse, which per answer cost more than the rest
  // of reading it (`npm run bench:ack` profile).
  const parsed = failureEnvelope.safeParse(body);
  return parsed.success && parsed.data.code >= 400 ? parsed.data.code : undefined;
}

/** WaveSpeed's departures from the shared error handling. */
export const waveSpeedHooks: ProviderHooks = {
  readError: (res: HttpResponse) => readErrorBody(res.body),
  envelopeStatus: (res: HttpResponse) => envelopeFailureCode(res.body),
  kindFor(status, info) {
    // WaveSpeed documents "insufficient credits" without a status code, so on a 4xx the text is
    // the only signal we have. This is the one place we match message text.
    if (
      status !== 429 &&
      status >= 400 &&
      status < 500 &&
      /insufficient|balance|credit/i.test(info.message ?? '')
    )
      return 'balance';
    // Every 5xx, 504 included, is an outage to the engine; on submit it may still have created the task.
    if (status >= 500) return 'unavailable';
    return undefined;
  },
};
