// The job state machine, one function per state. Each step writes the job before its side
// effect (submit, post), so a restart resumes from the last durable state without doubling.
import { NetworkError } from '../net/http.js';
import { download } from '../net/download.js';
import { ProviderError } from '../providers/errors.js';
import type { VideoProvider, VideoRequest } from '../providers/types.js';

type ImageRecord = JobRecord['request']['image'];
import type { JobRecord } from '../store/jobs.js';
import { failoverModel } from './failover.js';
import { backoffMs } from './backoff.js';
import type { StepContext } from './context.js';
import { nextPollDelayMs } from './poll-schedule.js';
import { failureText } from './wording.js';

export async function runStep(ctx: StepContext, job: JobRecord): Promise<void> {
  switch (job.state) {
    case 'waiting':
      return openStatusIfMissing(ctx, job).then((j) => showStatus(ctx, j, false));
    case 'accepted':
      return start(ctx, job);
    case 'submitting':
      return lostSubmit(ctx, job);
    case 'submitted':
      return poll(ctx, job);
    case 'succeeded':
    case 'delivering':
      return deliver(ctx, job);
    case 'failed':
      // Reached only on a resume or a retry: the notice may already be out.
      return settleFailure(ctx, job, true);
    case 'delivered':
    case 'refunded':
      return;
  }
}

async function openStatusIfMissing(ctx: StepContext, job: JobRecord): Promise<JobRecord> {
  if (job.discord.statusMessageId) return job;
  const place = await ctx.delivery.openStatus(job);
  return ctx.persist(job, { discord: { ...job.discord, ...place } });
}

async function start(ctx: StepContext, job: JobRecord): Promise<void> {
  const held = await ctx.ledger.reserve(job.userId, job.id, job.price, ledgerNote(job));
  if (!held.ok)
    return fail(ctx, job, {
      code: 'insufficient_credits',
      message: 'You no longer have enough credits for this job.',
    });
  job = await openStatusIfMissing(ctx, job);
  if (ctx.clock.now() >= job.deadlineAt)
    return fail(ctx, job, { code: 'timeout', message: 'The job waited too long to start.' });

  const provider = ctx.providers.get(job.runModel);
  if (!provider)
    return fail(ctx, job, {
      code: 'model_unavailable',
      message: `${job.runModel} is not available on this bot.`,
    });

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
  ctx.imageCache.delete(`${job.id}:end`);
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
    ? await uploaded(ctx, job.request.endImage, `${job.id}:end`, provider)
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

async function lostSubmit(ctx: StepContext, job: JobRecord): Promise<void> {
  // The one window no store can close: the submit may or may not have reached the provider.
  ctx
    .logFor(job)
    .error({ model: job.runModel }, 'submit outcome unknown after a restart; refunding the member');
  return fail(ctx, job, {
    code: 'submit_unknown',
    message: 'The bot restarted while sending this job to the provider and cannot tell whether it started.',
  });
}

function plan(ctx: StepContext, job: JobRecord) {
  return { expectedMs: ctx.runTimes.expected(job.runModel), cv: ctx.runTimes.cv(job.runModel) };
}

async function poll(ctx: StepContext, job: JobRecord): Promise<void> {
  const provider = ctx.providers.get(job.runModel);
  const ref = job.providerRef;
  if (!provider || !ref)
    return fail(ctx, job, {
      code: 'model_unavailable',
      message: `${job.runModel} is not available on this bot.`,
    });
  const now = ctx.clock.now();
  if (now >= job.deadlineAt) {
    await provider
      .cancel(ref)
      .catch((error: unknown) => ctx.logFor(job).warn({ err: error }, 'cancel failed'));
    return fail(ctx, job, { code: 'timeout', message: 'The video took too long and was cancelled.' });
  }
  const attempts = ctx.attempts(job.id);
  let result;
  try {
    result = await provider.poll(ref);
  } catch (error) {
    if (error instanceof ProviderError && error.retryable && attempts.poll < ctx.settings.pollFailureLimit) {
      const delay = backoffMs(attempts.poll++, error.retryAfterMs);
      ctx.logFor(job).warn({ err: error.toLog(), retryInMs: delay }, 'status poll failed; retrying');
      ctx.wake(job, delay);
      return;
    }
    return failWith(ctx, job, error);
  }
  attempts.poll = 0;
  const progress = job.progress ?? { phase: 'queued' as const, submittedAt: now, polls: 0 };
  const submittedAt = progress.submittedAt ?? now;
  switch (result.state) {
    case 'queued':
    case 'running': {
      const phase = result.state === 'queued' ? 'queued' : 'running';
      const position = result.state === 'queued' ? result.position : undefined;
      const changed = phase !== progress.phase || position !== progress.position;
      const next = {
        phase,
        submittedAt,
        polls: progress.polls + 1,
        ...(position !== undefined ? { position } : {}),
      } as const;
      // Progress is informative only: write it when it changes, not on every poll.
      job = changed ? await ctx.persist(job, { progress: next }) : ctx.remember(job, { progress: next });
      if (changed) await showStatus(ctx, job, false);
      ctx.wake(job, nextPollDelayMs(ctx.clock.now() - submittedAt, plan(ctx, job)));
      return;
    }
    case 'succeeded':
      job = await ctx.persist(job, {
        state: 'succeeded',
        output: { url: result.videoUrl, nsfw: result.nsfw },
      });
      ctx.runTimes.observe(job.runModel, now - submittedAt);
      ctx.logFor(job).info({ runMs: now - submittedAt, polls: progress.polls + 1 }, 'video ready');
      return deliver(ctx, job);
    case 'failed':
      return failWith(ctx, job, result.error);
  }
}

async function deliver(ctx: StepContext, job: JobRecord): Promise<void> {
  const output = job.output;
  if (!output)
    return fail(ctx, job, { code: 'provider_failed', message: 'The video provider returned no video.' });
  const log = ctx.logFor(job);
  if (job.state === 'delivering' && !job.discord.resultMessageId) {
    // A Discord that cannot list messages must not block delivery: the nonce still dedupes.
    const found = await ctx.delivery.findPost(job, 'result').catch((error: unknown) => {
      log.warn({ err: error }, 'could not look for an earlier result post');
      return undefined;
    });
    if (found) {
      log.warn({ messageId: found }, 'result was already posted before a restart; not posting again');
      job = await ctx.persist(job, { discord: { ...job.discord, resultMessageId: found } });
      await ctx.jobs.linkResultMessage(found, job.id);
    }
  }
  if (!job.discord.resultMessageId) {
    const spoiler = output.nsfw && !(await ctx.delivery.isAgeRestricted(job));
    if (spoiler && ctx.settings.nsfwPolicy === 'block') {
      log.info('flagged video withheld by NSFW_POLICY=block');
      return fail(ctx, job, {
        code: 'nsfw_blocked',
        message:
          'The provider flagged this video as possibly sensitive, and this server only shows those in age-restricted channels.',
      });
    }
    if (job.state !== 'delivering') job = await ctx.persist(job, { state: 'delivering' });
    const attempts = ctx.attempts(job.id);
    let bytes: Uint8Array | undefined;
    try {
      const cap = Math.min(ctx.settings.outputMaxBytes, job.discord.attachmentSizeLimit);
      const got = await download(ctx.http, output.url, {
        maxBytes: cap,
        timeoutMs: ctx.settings.outputDownloadTimeoutMs,
      });
      if (got.ok) bytes = got.bytes;
      else log.info({ reason: got.reason }, 'posting the video as a link');
    } catch (error) {
      // A timeout already waited the full deadline: post the link rather than wait it again.
      if (
        error instanceof NetworkError &&
        !error.timedOut &&
        attempts.deliver < ctx.settings.deliveryAttempts
      ) {
        ctx.wake(job, backoffMs(attempts.deliver++));
        log.warn({ err: error }, 'video download failed; retrying');
        return;
      }
      log.warn({ err: error }, 'video download failed; posting the link');
    }
    let messageId: string;
    try {
      ({ messageId } = await ctx.delivery.postResult(job, {
        url: output.url,
        spoiler,
        ...(bytes ? { bytes } : {}),
      }));
    } catch (error) {
      if (attempts.deliver < ctx.settings.deliveryAttempts) {
        const delay = backoffMs(attempts.deliver++);
        log.warn({ err: error, retryInMs: delay }, 'posting the result failed; retrying');
        ctx.wake(job, delay);
        return;
      }
      log.error({ err: error }, 'posting the result kept failing');
      return fail(ctx, job, {
        code: 'delivery_failed',
        message: 'The video was made but could not be posted here.',
      });
    }
    job = await ctx.persist(job, { discord: { ...job.discord, resultMessageId: messageId } });
    await ctx.jobs.linkResultMessage(messageId, job.id);
  }
  if (job.discord.resultMessageId) await ctx.delivery.offerRerun(job, job.discord.resultMessageId);
  await ctx.ledger.commit(job.userId, job.id);
  job = await ctx.persist(job, { state: 'delivered', finishedAt: ctx.clock.now() });
  log.info({ price: job.price }, 'job delivered');
  await showStatus(ctx, job, true);
  ctx.finished(job);
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

async function failWith(ctx: StepContext, job: JobRecord, error: unknown): Promise<void> {
  if (!(error instanceof ProviderError)) throw error;
  ctx.logFor(job).warn({ err: error.toLog(), state: job.state }, 'provider failure');
  return fail(ctx, job, failureText(error));
}

export async function fail(
  ctx: StepContext,
  job: JobRecord,
  failure: { code: string; message: string },
): Promise<void> {
  job = await ctx.persist(job, { state: 'failed', failure });
  return settleFailure(ctx, job, false);
}

async function settleFailure(ctx: StepContext, job: JobRecord, mayHavePosted: boolean): Promise<void> {
  await ctx.ledger.refund(job.userId, job.id);
  // Word it from the ledger, not from this call: on a resume the refund happened last time.
  const refunded = (await ctx.ledger.entry(job.userId, job.id))?.state === 'refunded';
  const failure = job.failure ?? { code: 'internal', message: 'Something went wrong.' };
  const text = refunded ? `${failure.message} Your ${job.price} credits were refunded.` : failure.message;
  const log = ctx.logFor(job);
  const posted = mayHavePosted
    ? await ctx.delivery.findPost(job, 'failure').catch(() => undefined)
    : undefined;
  if (posted) log.info({ messageId: posted }, 'failure notice was already posted before a restart');
  else
    await ctx.delivery
      .postFailure(job, text)
      .catch((error: unknown) => log.warn({ err: error }, 'could not post the failure notice'));
  job = await ctx.persist(job, { state: 'refunded', finishedAt: ctx.clock.now() });
  ctx.logFor(job).info({ code: failure.code, refunded }, 'job failed');
  await showStatus(ctx, job, true);
  ctx.finished(job);
}

/**
 * Jobs a provider account runs at once by default (fal's new accounts, WaveSpeed's Bronze tier):
 * each place ahead in the provider's queue is about half a run time more.
 */
const PROVIDER_PARALLELISM = 2;

/** Seconds until the video is likely ready: the learned run time left, plus the provider's queue. */
export function etaSecondsFor(
  ctx: Pick<StepContext, 'runTimes'>,
  job: JobRecord,
  now: number,
): number | undefined {
  const p = job.progress;
  if (p?.submittedAt === undefined || job.state !== 'submitted') return undefined;
  const expectedMs = ctx.runTimes.expected(job.runModel);
  const left = Math.max(0, p.submittedAt + expectedMs - now);
  const queue = p.phase === 'queued' && p.position ? (p.position * expectedMs) / PROVIDER_PARALLELISM : 0;
  return Math.max(5, Math.round((left + queue) / 1000));
}

/** Edits the status message: always on a state change, otherwise at most every 15 s. */
async function showStatus(ctx: StepContext, job: JobRecord, force: boolean): Promise<void> {
  const attempts = ctx.attempts(job.id);
  const now = ctx.clock.now();
  if (!job.discord.statusMessageId || (!force && now - attempts.lastStatusEditAt < 15_000)) return;
  attempts.lastStatusEditAt = now;
  const etaSeconds = etaSecondsFor(ctx, job, now);
  await ctx.delivery
    .showStatus(job, etaSeconds === undefined ? {} : { etaSeconds })
    .catch((error: unknown) => ctx.logFor(job).warn({ err: error }, 'could not update the status message'));
}
