// The input images, in the provider's own storage before the submit: uploaded once per provider
// and kept on the job, so reruns and failovers reuse them after Discord's URL has expired. Not a
// step: `start` and `waitTurn` call it. The bytes come from the request (in memory until
// uploaded), or after a restart from another provider's copy or from Discord.
import { download } from '../../net/download.js';
import { ProviderError } from '../../providers/errors.js';
import type { VideoProvider } from '../../providers/types.js';
import type { JobRecord } from '../../store/jobs.js';
import { backoffMs } from '../backoff.js';
import type { JobRuntime, StepDeps } from '../context.js';

type ImageRecord = JobRecord['request']['image'];

export type Uploaded =
  | { ok: true; job: JobRecord; urls: { image: string; endImage?: string } }
  /** A transient storage failure: try again after `retryInMs`. */
  | { ok: false; retryInMs: number }
  /** The bytes are nowhere to be had any more (the job cannot run). */
  | { ok: false; gone: true };

export async function uploadInputs(
  deps: StepDeps,
  job: JobRecord,
  runtime: JobRuntime,
  provider: VideoProvider,
): Promise<Uploaded> {
  const image = await uploadOne(deps, job, runtime, provider, 'main');
  if (!image.ok) return image;
  const end = job.request.endImage ? await uploadOne(deps, job, runtime, provider, 'end') : undefined;
  if (end && !end.ok) return end;
  runtime.retries.upload = 0;
  if (image.fresh || end?.fresh) {
    job = await deps.save(job, {
      request: { ...job.request, image: image.record, ...(end ? { endImage: end.record } : {}) },
    });
  }
  // In the provider's storage now (or given up on): the bytes need not stay in memory.
  runtime.images = {};
  return { ok: true, job, urls: { image: image.url, ...(end ? { endImage: end.url } : {}) } };
}

type One = { ok: true; url: string; record: ImageRecord; fresh: boolean } | Exclude<Uploaded, { ok: true }>;

async function uploadOne(
  deps: StepDeps,
  job: JobRecord,
  runtime: JobRuntime,
  provider: VideoProvider,
  which: 'main' | 'end',
): Promise<One> {
  const image = which === 'main' ? job.request.image : job.request.endImage;
  if (!image) throw new Error(`job ${job.id} has no ${which} image`);
  const existing = image.uploads[provider.provider];
  if (existing) return { ok: true, url: existing, record: image, fresh: false };
  const bytes = runtime.images[which] ?? (await fetchAgain(deps, image));
  if (!bytes) return { ok: false, gone: true };
  runtime.images[which] = bytes;
  try {
    const url = await provider.upload(
      { bytes, contentType: image.contentType, filename: image.filename },
      deps.signal,
    );
    return {
      ok: true,
      url,
      record: { ...image, uploads: { ...image.uploads, [provider.provider]: url } },
      fresh: true,
    };
  } catch (error) {
    // The key itself is refused: the submit would be too, so let that failure stand.
    if (!(error instanceof ProviderError) || error.kind === 'auth' || error.kind === 'balance') throw error;
    const log = deps.logFor(job);
    // A refused connection means the provider is down, not its storage: the submit finds out
    // for itself (and fails over), so no upload retries are spent on it.
    const transient = error.retryable && !error.notAccepted;
    if (transient && runtime.retries.upload + 1 < deps.settings.uploadAttempts) {
      const inMs = backoffMs(runtime.retries.upload++, error.retryAfterMs);
      log.warn({ err: error.toLog(), retryInMs: inMs }, 'upload failed; retrying');
      return { ok: false, retryInMs: inMs };
    }
    // Storage keeps refusing, or is missing: uploads are optional (docs/providers.md,
    // "WaveSpeed uploads" and "fal uploads"), and the source URL answered moments ago, so submit
    // it as is. The job then has no provider copy, which is what a rerun checks before it trusts
    // the source URL again.
    log.warn(
      { err: error.toLog(), provider: provider.provider },
      'upload refused; submitting the source URL',
    );
    return { ok: true, url: image.sourceUrl, record: image, fresh: false };
  }
}

/** After a restart the bytes are gone: another provider's copy lasts days, Discord's URL hours. */
async function fetchAgain(deps: StepDeps, image: ImageRecord): Promise<Uint8Array | undefined> {
  for (const url of [...Object.values(image.uploads), image.sourceUrl]) {
    const result = await download(deps.http, url, {
      maxBytes: image.bytes + 1,
      timeoutMs: 30_000,
      signal: deps.signal,
    }).catch(() => undefined);
    if (result?.ok) return result.bytes;
  }
  return undefined;
}
