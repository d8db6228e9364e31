// Delivery (`succeeded`, `delivering`): fetch the video (within the upload limit), post it once,
// record the post, invite reruns, then charge. A restart in `delivering` first looks for a post it
// already made (the window between Discord storing the post and us recording it).
import { download } from '../../net/download.js';
import type { Lease } from '../../media/budget.js';
import { NetworkError } from '../../net/http.js';
import type { JobRecord } from '../../store/jobs.js';
import { backoffMs } from '../backoff.js';
import { accountOf, next, type JobRuntime, type Next, type StepDeps } from '../context.js';
import type { Placement } from '../telemetry.js';
import { showStatus } from './status.js';

export async function deliver(deps: StepDeps, job: JobRecord, runtime: JobRuntime): Promise<Next> {
  const output = job.output;
  if (!output) return next.fail(job, { code: 'no_video' });
  const log = deps.logFor(job);
  if (job.state === 'delivering' && !job.discord.resultMessageId) job = await recordEarlierPost(deps, job);
  if (!job.discord.resultMessageId) {
    const spoiler = output.nsfw && !(await deps.delivery.isAgeRestricted(job));
    if (spoiler && deps.settings.nsfwPolicy === 'block') {
      log.info('flagged video withheld by NSFW_POLICY=block');
      return next.fail(job, { code: 'nsfw_blocked' });
    }
    if (job.state !== 'delivering') job = await deps.save(job, { state: 'delivering' });
    let bytes: Uint8Array | undefined;
    let lease: Lease | undefined;
    try {
      const got = await download(deps.http, output.url, {
        maxBytes: Math.min(deps.settings.outputMaxBytes, job.discord.attachmentSizeLimit),
        timeoutMs: deps.settings.outputDownloadTimeoutMs,
        signal: deps.signal,
        // Many videos finishing at once wait their turn for memory instead of all being held.
        lease: (n, signal) => deps.media.acquire(n, signal),
      });
      if (got.ok) ({ bytes, lease } = got);
      else log.info({ reason: got.reason }, 'posting the video as a link');
    } catch (error) {
      if (deps.signal.aborted) throw error; // stopping: resume in `delivering` at the next start
      // A timeout already waited the full deadline: post the link rather than wait it again.
      const retry = error instanceof NetworkError && !error.timedOut;
      if (retry && runtime.retries.deliver < deps.settings.deliveryAttempts) {
        log.warn({ err: error }, 'video download failed; retrying');
        return next.wake(job, backoffMs(runtime.retries.deliver++));
      }
      log.warn({ err: error }, 'video download failed; posting the link');
    }
    let messageId: string;
    let placement: Placement | undefined;
    try {
      ({ messageId, placement } = await deps.delivery.postResult(job, {
        url: output.url,
        spoiler,
        ...(bytes ? { bytes } : {}),
      }));
    } catch (error) {
      lease?.release();
      if (runtime.retries.deliver < deps.settings.deliveryAttempts) {
        const inMs = backoffMs(runtime.retries.deliver++);
        log.warn({ err: error, retryInMs: inMs }, 'posting the result failed; retrying');
        return next.wake(job, inMs);
      }
      log.error({ err: error }, 'posting the result kept failing');
      return next.fail(job, { code: 'delivery_failed' });
    }
    if (placement) deps.telemetry.delivered(placement);
    // Posted: the bytes are done with. Drop them before the writes below, which can take a while
    // under load, so the next delivery's lease is not paid for twice.
    bytes = undefined;
    lease?.release();
    job = await deps.save(job, { discord: { ...job.discord, resultMessageId: messageId } });
    await deps.jobs.linkResultMessage(messageId, job.id);
  }
  if (job.discord.resultMessageId) await deps.delivery.offerRerun(job, job.discord.resultMessageId);
  // False when a run before a restart already spent it: counted then, not again.
  if (await deps.economy.spend(accountOf(deps.settings, job), job.id)) deps.telemetry.creditsSpent(job.price);
  job = await deps.save(job, { state: 'delivered', finishedAt: deps.clock.now() });
  log.info({ price: job.price }, 'job delivered');
  await showStatus(deps, job, runtime, true);
  return next.done(job);
}

/** A Discord that cannot list messages must not block delivery: the nonce still dedupes. */
async function recordEarlierPost(deps: StepDeps, job: JobRecord): Promise<JobRecord> {
  const log = deps.logFor(job);
  const found = await deps.delivery.findPost(job, 'result').catch((error: unknown) => {
    log.warn({ err: error }, 'could not look for an earlier result post');
    return undefined;
  });
  if (!found) return job;
  log.warn({ messageId: found }, 'result already posted (found by its marker); not posting again');
  job = await deps.save(job, { discord: { ...job.discord, resultMessageId: found } });
  await deps.jobs.linkResultMessage(found, job.id);
  return job;
}
