// The provider seam: what the job engine needs from any image-to-video backend. Providers
// know HTTP and their wire format, nothing about Discord or the store.
import type { ProviderError } from './errors.js';

export type ProviderId = 'wavespeed' | 'fal';

export type AspectRatio = '16:9' | '9:16' | '4:3' | '3:4' | '21:9' | '9:21';
export type Resolution = '540p' | '720p' | '1080p';

/** One request, in our words; each provider maps it to its own wire body. */
export interface VideoRequest {
  prompt: string;
  /** A URL the provider can fetch: its own storage upload, or a public URL. */
  imageUrl: string;
  endImageUrl?: string;
  aspectRatio: AspectRatio;
  /** What the member asked for: 5 or 10 (fal runs 10 as "9s"). */
  durationSeconds: 5 | 10;
  resolution?: Resolution;
  loop?: boolean;
}

/** What the engine stores to find a submitted job again, after a restart too. */
export interface ProviderJobRef {
  id: string;
  statusUrl?: string | undefined;
  resultUrl?: string | undefined;
  cancelUrl?: string | undefined;
  /** The submit registered our webhook: the provider will push when the job ends (docs/push.md). */
  webhook?: boolean | undefined;
}

export type PollResult =
  | { state: 'queued'; position?: number }
  | { state: 'running' }
  | { state: 'succeeded'; videoUrl: string; nsfw: boolean }
  | { state: 'failed'; error: ProviderError };

/** What fal's status stream says, one event at a time (docs/push.md). */
export type StreamEvent =
  { state: 'queued'; position?: number } | { state: 'running' } | { state: 'completed' };

export interface PollOptions {
  /**
   * A push (a verified webhook, a stream event) said the job ended: fal's result is fetched at
   * once instead of asking the status first. The push only says when to look, never what is there.
   */
  pushed?: boolean;
}

export interface UploadInput {
  bytes: Uint8Array;
  contentType: string;
  filename: string;
}

export interface VideoProvider {
  readonly provider: ProviderId;
  /** The provider's endpoint or model path, e.g. 'luma/ray-2-flash-i2v'. */
  readonly endpoint: string;
  /** Sends the paid request once. Throws ProviderError; `notAccepted` says whether a retry is safe. */
  submit(request: VideoRequest, signal?: AbortSignal): Promise<ProviderJobRef>;
  /**
   * One status check (for fal, the status call and, once COMPLETED, the result call). Throws
   * ProviderError for transport and HTTP failures that say nothing final (retryable ones flagged).
   */
  poll(ref: ProviderJobRef, signal?: AbortSignal, options?: PollOptions): Promise<PollResult>;
  /**
   * fal only: the job's status stream. Yields each status until the job is COMPLETED, then ends;
   * throws (a ProviderError) when the stream cannot be opened or breaks.
   */
  follow?(ref: ProviderJobRef, signal: AbortSignal): AsyncIterable<StreamEvent>;
  /** Best effort; resolves when the provider has taken note, or the job was already finished. */
  cancel(ref: ProviderJobRef, signal?: AbortSignal): Promise<void>;
  /** Copies an input image into the provider's storage and returns a URL the provider accepts. */
  upload(input: UploadInput, signal?: AbortSignal): Promise<string>;
}

/** What the prompt optimizer is asked: the member's prompt, with the input image for context. */
export interface OptimizeRequest {
  text: string;
  /** A URL the optimizer can fetch (the upload the video submit uses). */
  imageUrl?: string;
}

export type OptimizePoll =
  | { state: 'queued' }
  | { state: 'running' }
  /** The rewritten prompt, trimmed, 1 to 2,000 characters. */
  | { state: 'succeeded'; prompt: string }
  | { state: 'failed'; error: ProviderError };

/**
 * WaveSpeed's prompt optimizer (`/animate enhance`), followed like a video task: one paid submit,
 * then status polls. Throws ProviderError like a VideoProvider; never retries by itself.
 */
export interface PromptOptimizer {
  submit(request: OptimizeRequest, signal?: AbortSignal): Promise<{ id: string }>;
  poll(id: string, signal?: AbortSignal): Promise<OptimizePoll>;
}
