// Submitting: hold the credits, open the status message, put the input images in the
// provider's storage, then the one paid submit. Retried only when the provider proved it did not
// take it; failed over to the other provider's Flash model when it is down.
import { download } from '../../net/download.js';
import { ProviderError } from '../../providers/errors.js';
import type { VideoProvider, VideoRequest } from '../../providers/types.js';
import type { JobRecord } from '../../store/jobs.js';
import { backoffMs } from '../backoff.js';
import { endImageKey, type StepContext } from '../context.js';
import { failoverModel } from '../failover.js';
import { nextPollDelayMs } from '../poll-schedule.js';
import { fail, failWith } from './fail.js';
import { plan } from './poll.js';
import { openStatusIfMissing, showStatus } from './status.js';

type ImageRecord = JobRecord['request']['image'];

export async function start(ctx: StepContext, job: JobRecord): Promise<void> {
  const held = await ctx.ledger.reserve(job.userId, job.id, job.price, ledgerNote(job));
  if (!held.ok) return fail(ctx, job, { code: 'no_longer_affordable' });
  job = await openStatusIfMissing(ctx, job);
  if (ctx.clock.now() >= job.deadlineAt) return fail(ctx, job, { code: 'waited_too_long' });

  const provider = ctx.providers.get(job.runModel);
  if (!provider) return fail(ctx, job, { code: 'model_unavailable', model: job.runModel });

  let urls: { image: string; endImage?: string };
  try {
    ({ job, urls } = await uploadInputs(ctx, job, provider));
  } catch (error) {
    return retryOrFail(ctx, job, error, 'upload');
  }

  job = await ctx.persist(job, { state: 'submitting' });
  let ref;
  try {
    ref = await provider.submit(videoRequest(job, urls));
  } catch (error) {
    if (error instanceof ProviderError && error.notAccepted && error.retryable) {
      // Proven not taken: safe to try again from 'accepted'.
      job = await ctx.persist(job, { state: 'accepted' });
      return retryOrFail(ctx, job, error, 'submit');
    }
    // Anything else (5xx, a reset, a timeout) may have created the task: the contract says the
    // job fails and is refunded, and another provider would run (and bill) it a second time.
    return failWith(ctx, job, error);
  }
  const now = ctx.clock.now();
  job = await ctx.persist(job, {
    state: 'submitted',
    providerRef: ref,
    progress: { phase: 'queued', submittedAt: now, polls: 0 },
  });
  ctx.imageCache.delete(job.id);
  ctx.imageCache.delete(endImageKey(job.id));
  ctx.logFor(job).info({ providerJobId: ref.id, model: job.runModel }, 'job submitted');
  await showStatus(ctx, job, true);
  ctx.wake(job, nextPollDelayMs(0, plan(ctx, job)));
}

const ledgerNote = (job: JobRecord) => `${job.request.model} ${job.request.durationSeconds}s`;

/**
 * Moves a Flash job whose provider is down — it kept refusing connections or answering 429, so it
 * provably never took the job — to the other provider's Flash model, at the price already held.
 * Returns false when there is no such model, or failover is off or already used.
 */
async function failOver(ctx: StepContext, job: JobRecord, error: ProviderError): Promise<boolean> {
  if (!ctx.settings.failover || job.runModel !== job.request.model) return false;
  const to = failoverModel(job, (id) => ctx.providers.has(id));
  if (!to) return false;
  ctx.logFor(job).warn({ err: error.toLog(), to }, 'provider unavailable; failing over');
  const moved = await ctx.persist(job, { state: 'accepted', runModel: to });
  ctx.attempts(job.id).submit = 0;
  await showStatus(ctx, moved, true);
  ctx.wake(moved, 0);
  return true;
}

/** Input images in the provider's own storage; uploaded once per provider and kept for reruns. */
async function uploadInputs(
  ctx: StepContext,
  job: JobRecord,
  provider: VideoProvider,
): Promise<{ job: JobRecord; urls: { image: string; endImage?: string } }> {
  const image = await uploaded(ctx, job.request.image, job.id, provider);
  const endImage = job.request.endImage
    ? await uploaded(ctx, job.request.endImage, endImageKey(job.id), provider)
    : undefined;
  const request = {
    ...job.request,
    image: image.record,
    ...(endImage ? { endImage: endImage.record } : {}),
  };
  if (image.fresh || endImage?.fresh) job = await ctx.persist(job, { request });
  return { job, urls: { image: image.url, ...(endImage ? { endImage: endImage.url } : {}) } };
}

async function uploaded(ctx: StepContext, image: ImageRecord, cacheKey: string, provider: VideoProvider) {
  const existing = image.uploads[provider.provider];
  if (existing) return { url: existing, record: image, fresh: false };
  let bytes = ctx.imageCache.get(cacheKey);
  // After a restart the bytes are gone: fetch them again from another provider's copy (they
  // last days) or, failing that, from Discord (hours).
  for (const url of bytes ? [] : [...Object.values(image.uploads), image.sourceUrl]) {
    const result = await download(ctx.http, url, { maxBytes: image.bytes + 1, timeoutMs: 30_000 }).catch(
      () => undefined,
    );
    if (result?.ok) {
      bytes = result.bytes;
      ctx.imageCache.set(cacheKey, bytes);
      break;
    }
  }
  if (!bytes) {
    throw new ProviderError({
      kind: 'invalid_input',
      provider: provider.provider,
      message: 'the input image is no longer available',
    });
  }
  let url: string;
  try {
    url = await provider.upload({ bytes, contentType: image.contentType, filename: image.filename });
  } catch (error) {
    // The key itself is refused: the submit would be too, so let that failure stand.
    if (!(error instanceof ProviderError) || error.kind === 'auth' || error.kind === 'balance') throw error;
    // Storage refused or is missing (the protocol notes treat uploads as optional): the source
    // URL answered moments ago, so submit it as is. Only a rerun after it expires loses out.
    ctx.log.warn(
      { err: error.toLog(), provider: provider.provider },
      'upload refused; submitting the source URL',
    );
    return { url: image.sourceUrl, record: image, fresh: false };
  }
  return { url, record: { ...image, uploads: { ...image.uploads, [provider.provider]: url } }, fresh: true };
}

function videoRequest(job: JobRecord, urls: { image: string; endImage?: string }): VideoRequest {
  const r = job.request;
  return {
    prompt: r.prompt,
    imageUrl: urls.image,
    aspectRatio: r.aspectRatio,
    durationSeconds: r.durationSeconds,
    ...(r.resolution ? { resolution: r.resolution } : {}),
    ...(r.loop !== undefined ? { loop: r.loop } : {}),
    ...(urls.endImage ? { endImageUrl: urls.endImage } : {}),
  };
}

export async function lostSubmit(ctx: StepContext, job: JobRecord): Promise<void> {
  // The one window no store can close: the submit may or may not have reached the provider.
  ctx
    .logFor(job)
    .error({ model: job.runModel }, 'submit outcome unknown after a restart; refunding the member');
  return fail(ctx, job, { code: 'submit_unknown' });
}

async function retryOrFail(
  ctx: StepContext,
  job: JobRecord,
  error: unknown,
  what: 'submit' | 'upload',
): Promise<void> {
  const attempts = ctx.attempts(job.id);
  const retryable =
    error instanceof ProviderError && error.retryable && (what === 'upload' || error.notAccepted);
  if (retryable && attempts.submit + 1 < ctx.settings.submitAttempts) {
    const delay = backoffMs(attempts.submit++, error.retryAfterMs);
    ctx.logFor(job).warn({ err: error.toLog(), retryInMs: delay }, `${what} not accepted; retrying`);
    ctx.wake(job, delay);
    return;
  }
  if (what === 'submit' && retryable && (await failOver(ctx, job, error))) return;
  return failWith(ctx, job, error);
}
