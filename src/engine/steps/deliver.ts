// Delivery: fetch the video (within the upload limit), post it once, record the post, invite
// reruns, then charge. A restart in `delivering` first looks for a post it already made.
import { download } from '../../net/download.js';
import { NetworkError } from '../../net/http.js';
import type { JobRecord } from '../../store/jobs.js';
import { backoffMs } from '../backoff.js';
import type { StepContext } from '../context.js';
import { fail } from './fail.js';
import { showStatus } from './status.js';

export async function deliver(ctx: StepContext, job: JobRecord): Promise<void> {
  const output = job.output;
  if (!output) return fail(ctx, job, { code: 'no_video' });
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
      return fail(ctx, job, { code: 'nsfw_blocked' });
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
      return fail(ctx, job, { code: 'delivery_failed' });
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
