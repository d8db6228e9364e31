// Fault injection end to end: what the real bot does when a provider answers badly — which
// submits it repeats (only those proven not accepted), how polls recover, what it refunds and
// says, deadlines, failover to the other provider, and flagged videos.
import { visibleText } from '../fakes/discord/visible.js';
import { afterEach, describe, expect, it } from 'vitest';
import { ENGINE_DEFAULTS } from '../../src/engine/context.js';
import { startWorld, type World, closeChecked, threadMessages, results } from './harness.js';

let world: World | undefined;
afterEach(async () => {
  await closeChecked(world);
  world = undefined;
});

const FAL_MODEL = { name: 'model', type: 3, value: 'fal/ray-2-flash' };

/** The result, once the job is delivered and its charge committed (the status says Done). */
async function resultMessage(w: World) {
  const result = await w.discord.waitFor(() => results(w)[0], 10_000);
  expect(visibleText(await finalStatus(w))).toContain('Done');
  return result;
}

/** The failure notice in the thread: it names the member and says the credits came back. */
async function refundNotice(w: World, timeoutMs = 10_000) {
  const notice = await w.discord.waitFor(
    () => threadMessages(w).find((m) => m.content.includes('refunded')),
    timeoutMs,
  );
  expect(notice.content).toContain(`<@${w.member.id}>`);
  expect(notice.content).toContain('20 credits were refunded');
  return notice;
}

/** The status message once it shows a final state. */
async function finalStatus(w: World) {
  const thread = w.discord.threads[0];
  const status = () =>
    w.discord.messagesIn(w.discord.channelId).find((m) => m.id === thread?.starterMessageId);
  return w.discord.waitFor(() => /Done|Failed/.test(visibleText(status())) && status());
}

/** Balance and how many ledger entries say "charged", from /credits. */
async function statementOf(w: World, user = w.member) {
  const i = await w.discord.sendCommand({ name: 'credits', user });
  const reply = await i.waitForReply();
  return {
    balance: Number(/\*\*(\d+)\*\*/.exec(reply.content)?.[1]),
    charged: reply.content.split('\n').filter((l) => l.includes(' charged ')).length,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Each provider's fake, in the same words, with the other provider for "nothing failed over". */
const sides = [
  {
    provider: 'wavespeed',
    options: [],
    arm: (w: World, fault: { status: number; createTask: true } | { reset: true; createTask: true }) =>
      w.wavespeed.failSubmit(fault),
    submissions: (w: World) => w.wavespeed.submissions,
    polls: (w: World) => w.wavespeed.polls,
    otherSubmissions: (w: World) => w.fal.submissions,
    otherUploads: (w: World) => w.fal.uploads,
  },
  {
    provider: 'fal',
    options: [FAL_MODEL],
    arm: (w: World, fault: { status: number; createTask: true } | { reset: true; createTask: true }) =>
      w.fal.failSubmit(fault),
    submissions: (w: World) => w.fal.submissions,
    polls: (w: World) => w.fal.statusPolls,
    otherSubmissions: (w: World) => w.wavespeed.submissions,
    otherUploads: (w: World) => w.wavespeed.uploads,
  },
] as const;

describe.each(sides)('a $provider submit that may have been accepted is never sent again', (p) => {
  it('a 500 after the task was created: one submission, the member told in the thread, refunded in full', async () => {
    world = await startWorld({ FAILOVER: 'false' });
    const w = world;
    p.arm(w, { status: 500, createTask: true });
    await (await w.animate({ options: [...p.options] })).waitForReply();

    const notice = await refundNotice(w);
    expect(notice.content).toContain('not answering');
    await sleep(300);
    expect(p.submissions(w)).toHaveLength(1);
    expect(p.polls(w)).toHaveLength(0);
    expect(p.otherSubmissions(w)).toHaveLength(0);
    expect(results(w)).toHaveLength(0);
    expect((await statementOf(w)).balance).toBe(100);
  });

  it('a connection reset after the task was created: neither retried nor failed over, refunded', async () => {
    world = await startWorld(); // failover on: a reset must still not move the job
    const w = world;
    p.arm(w, { reset: true, createTask: true });
    await (await w.animate({ options: [...p.options] })).waitForReply();

    await refundNotice(w);
    await sleep(300);
    expect(p.submissions(w)).toHaveLength(1);
    expect(p.otherSubmissions(w)).toHaveLength(0);
    expect(p.otherUploads(w)).toHaveLength(0);
    expect(results(w)).toHaveLength(0);
    expect((await statementOf(w)).balance).toBe(100);
  });
});

describe('retries that are safe', () => {
  it('a 429 on submit is retried: two submissions, the second succeeds, charged once', async () => {
    world = await startWorld();
    const w = world;
    w.wavespeed.failSubmit({ status: 429 });
    await (await w.animate()).waitForReply();

    const result = await resultMessage(w);
    expect(result.attachments).toHaveLength(1);
    expect(w.wavespeed.submissions).toHaveLength(2);
    expect(w.wavespeed.submissions[0]?.taskId).toBeUndefined();
    expect(w.wavespeed.submissions[1]?.taskId).toBeDefined();
    expect(w.wavespeed.submissions[1]?.body).toEqual(w.wavespeed.submissions[0]?.body);
    expect(w.wavespeed.tasks.size).toBe(1);
    expect(w.fal.submissions).toHaveLength(0);
    expect(await statementOf(w)).toEqual({ balance: 80, charged: 1 });
  });

  it('polls recover from 502, 502, then 429 with Retry-After: 1, waiting at least that long', async () => {
    world = await startWorld();
    const w = world;
    w.wavespeed.failPolls({ status: 502 }, { status: 502 }, { status: 429, retryAfter: 1 });
    await (await w.animate()).waitForReply();

    const result = await resultMessage(w);
    expect(result.attachments).toHaveLength(1);
    const polls = w.wavespeed.polls;
    expect(polls.slice(0, 3).map((p) => p.answered)).toEqual([502, 502, 429]);
    const after429 = polls[3];
    const at429 = polls[2]?.at ?? Infinity;
    expect(after429).toBeDefined();
    expect((after429?.at ?? 0) - at429).toBeGreaterThanOrEqual(1000);
    expect(polls.at(-1)?.status).toBe('completed');
    expect(w.wavespeed.submissions).toHaveLength(1);
    expect(await statementOf(w)).toEqual({ balance: 80, charged: 1 });
  });

  it('a poll 429 with Retry-After: 3 waits the 3 s, longer than its own backoff would', async () => {
    world = await startWorld();
    const w = world;
    w.wavespeed.failPolls({ status: 429, retryAfter: 3 });
    await (await w.animate()).waitForReply();

    await resultMessage(w);
    const [limited, next] = w.wavespeed.polls;
    expect(limited?.answered).toBe(429);
    expect((next?.at ?? 0) - (limited?.at ?? Infinity)).toBeGreaterThanOrEqual(3000);
    expect(await statementOf(w)).toEqual({ balance: 80, charged: 1 });
  });
});

describe('a failed task refunds in full and tells the member', () => {
  it('WaveSpeed task code 1200: the member hears it was the content policy', async () => {
    world = await startWorld();
    const w = world;
    w.wavespeed.nextOutcome({ status: 'failed', code: 1200, error: 'Content moderation: flagged input' });
    await (await w.animate()).waitForReply();

    const notice = await refundNotice(w);
    expect(notice.content).toContain('content policy');
    expect(notice.content).not.toContain('flagged input');
    expect(results(w)).toHaveLength(0);
    expect((await statementOf(w)).balance).toBe(100);
  });

  it('fal result 422 content_policy_violation: the member hears it was the content policy', async () => {
    world = await startWorld();
    const w = world;
    w.fal.nextOutcome({ result422: { type: 'content_policy_violation', msg: 'NSFW input detected' } });
    await (await w.animate({ options: [FAL_MODEL] })).waitForReply();

    const notice = await refundNotice(w);
    expect(notice.content).toContain('content policy');
    expect(notice.content).not.toContain('NSFW input detected');
    expect(w.fal.submissions).toHaveLength(1);
    expect(results(w)).toHaveLength(0);
    expect((await statementOf(w)).balance).toBe(100);
  });
});

describe('a job past its deadline is cancelled and refunded', () => {
  it(
    'WaveSpeed: a task that never finishes, with the minimum deadline of 10 s',
    { timeout: 30_000 },
    async () => {
      world = await startWorld({ JOB_DEADLINE_MS: '10000' });
      const w = world;
      w.wavespeed.hold();
      const accepted = Date.now();
      await (await w.animate()).waitForReply();

      const notice = await refundNotice(w, 20_000);
      expect(notice.content).toContain('took too long');
      expect(Date.now() - accepted).toBeGreaterThanOrEqual(10_000);
      expect(visibleText(await finalStatus(w))).toContain('Failed');
      expect(results(w)).toHaveLength(0);
      expect(w.wavespeed.submissions).toHaveLength(1);
      expect((await statementOf(w)).balance).toBe(100);
    },
  );

  it('fal: the request is cancelled at fal too', { timeout: 30_000 }, async () => {
    world = await startWorld({ JOB_DEADLINE_MS: '10000' });
    const w = world;
    w.fal.hold();
    await (await w.animate({ options: [FAL_MODEL] })).waitForReply();

    const notice = await refundNotice(w, 20_000);
    expect(notice.content).toContain('took too long');
    const id = w.fal.submissions[0]?.requestId;
    expect(id).toBeDefined();
    expect(w.fal.cancels).toEqual([id]);
    expect(results(w)).toHaveLength(0);
    expect((await statementOf(w)).balance).toBe(100);
  });
});

describe('failover to the other provider', () => {
  it('with FAILOVER=false a provider that refuses connections is refunded and fal is never called', async () => {
    world = await startWorld({ WAVESPEED_BASE_URL: 'http://127.0.0.1:1', FAILOVER: 'false' });
    const w = world;
    await (await w.animate()).waitForReply();
    await refundNotice(w);
    expect(w.fal.submissions).toHaveLength(0);
    expect(w.fal.uploads).toHaveLength(0);
    expect((await statementOf(w)).balance).toBe(100);
  });

  it('WaveSpeed is down (refuses connections): fal makes the same 720p video at the price quoted, and the status says so', async () => {
    // Nothing listens on port 1: every connection to "WaveSpeed" is refused.
    world = await startWorld({ WAVESPEED_BASE_URL: 'http://127.0.0.1:1' });
    const w = world;
    const reply = await (await w.animate({ prompt: 'the cat naps' })).waitForReply();
    expect(reply.content).toContain('20 credits reserved');

    const result = await resultMessage(w);
    expect(result.attachments).toHaveLength(1);
    expect(w.wavespeed.requests).toHaveLength(0);
    expect(w.fal.submissions).toHaveLength(1);
    expect(w.fal.submissions[0]?.body).toEqual({
      prompt: 'the cat naps',
      image_url: w.fal.uploads[0]?.url,
      aspect_ratio: '16:9',
      duration: '5s',
      // WaveSpeed renders 720p: the stand-in makes the same video, not fal's default 540p.
      resolution: '720p',
    });
    const status = await finalStatus(w);
    expect(visibleText(status)).toContain('Done');
    // fal at 720p lists at 40; the member pays the 20 quoted.
    expect(visibleText(status)).toContain('wavespeed was down, so fal ran it for the 20 credits quoted');
    expect(await statementOf(w)).toEqual({ balance: 80, charged: 1 });
  });

  it('fal is down: a 720p 10 s job runs on WaveSpeed at 10 s and costs what WaveSpeed charges, the rest refunded as its own entry', async () => {
    world = await startWorld({ FAL_QUEUE_URL: 'http://127.0.0.1:1', FAL_STORAGE_URL: 'http://127.0.0.1:1' });
    const w = world;
    const reply = await (
      await w.animate({
        options: [
          FAL_MODEL,
          { name: 'duration', type: 4, value: 10 },
          { name: 'resolution', type: 3, value: '720p' },
        ],
      })
    ).waitForReply();
    // fal 9 s at 720p: 4 × 9 × 2.
    expect(reply.content).toContain('72 credits reserved');

    await resultMessage(w);
    expect(w.fal.submissions).toHaveLength(0);
    expect(w.wavespeed.submissions).toHaveLength(1);
    expect(w.wavespeed.submissions[0]?.body).toMatchObject({ size: '1280*720', duration: 10 });
    const status = await finalStatus(w);
    expect(visibleText(status)).toContain(
      'fal was down, so wavespeed ran it for 40 credits instead of the 72 quoted',
    );
    // WaveSpeed Flash 10 s is 40: the member pays 40, and 32 come back in an entry of their own.
    const i = await w.discord.sendCommand({ name: 'credits', user: w.member });
    const credits = (await i.waitForReply()).content;
    expect(credits).toContain('You have **60** credits in this server.');
    expect(credits.split('\n').filter((l) => l.includes(' charged '))).toEqual([
      expect.stringContaining('charged 40'),
    ]);
    expect(credits.split('\n').filter((l) => l.includes(' refunded '))).toHaveLength(1);
  });

  it('a fal job at its default 540p is not moved to WaveSpeed, which only renders 720p', async () => {
    world = await startWorld({ FAL_QUEUE_URL: 'http://127.0.0.1:1', FAL_STORAGE_URL: 'http://127.0.0.1:1' });
    const w = world;
    await (await w.animate({ options: [FAL_MODEL] })).waitForReply();
    await refundNotice(w);
    expect(w.wavespeed.submissions).toHaveLength(0);
  });

  it('WaveSpeed answers 429 to every submit: fails over to fal once the retries are used up', async () => {
    world = await startWorld();
    const w = world;
    for (let i = 0; i < ENGINE_DEFAULTS.submitAttempts + 3; i++) w.wavespeed.failSubmit({ status: 429 });
    await (await w.animate()).waitForReply();

    const result = await resultMessage(w);
    expect(result.attachments).toHaveLength(1);
    expect(w.wavespeed.submissions).toHaveLength(ENGINE_DEFAULTS.submitAttempts);
    expect(w.wavespeed.tasks.size).toBe(0);
    expect(w.fal.submissions).toHaveLength(1);
    expect(visibleText(await finalStatus(w))).toContain('fal ran it');
    expect(await statementOf(w)).toEqual({ balance: 80, charged: 1 });
  });

  it('a 503 on submit is refunded, never failed over: the task may exist (contract item 8)', async () => {
    world = await startWorld(); // failover on
    const w = world;
    w.wavespeed.failSubmit({ status: 503 });
    await (await w.animate()).waitForReply();

    await refundNotice(w);
    await sleep(300);
    expect(w.wavespeed.submissions).toHaveLength(1);
    expect(w.fal.submissions).toHaveLength(0);
    expect(w.fal.uploads).toHaveLength(0);
    expect((await statementOf(w)).balance).toBe(100);
  });
});

describe('a video the provider flags as possibly sensitive', () => {
  it('is posted behind a spoiler with a content warning outside age-restricted channels', async () => {
    world = await startWorld();
    const w = world;
    w.wavespeed.nextOutcome({ nsfw: true });
    await (await w.animate()).waitForReply();

    const result = await resultMessage(w);
    expect(result.attachments).toHaveLength(1);
    expect(result.attachments[0]?.filename).toMatch(/^SPOILER_.*\.mp4$/);
    expect(result.content).toContain('Content warning');
    expect(await statementOf(w)).toEqual({ balance: 80, charged: 1 });
  });

  it('posted as a link when too big to upload, the link is behind a spoiler too', async () => {
    world = await startWorld();
    const w = world;
    w.wavespeed.nextOutcome({ nsfw: true });
    await (await w.animate({ attachmentSizeLimit: 16 })).waitForReply();

    const result = await resultMessage(w);
    const task = [...w.wavespeed.tasks.values()][0];
    expect(result.attachments).toHaveLength(0);
    expect(result.content).toContain('Content warning');
    expect(result.content).toContain(`||${w.wavespeed.baseUrl}/files/${task?.id}.mp4||`);
  });

  it('with NSFW_POLICY=block is withheld: no video posted, the member told, refunded', async () => {
    world = await startWorld({ NSFW_POLICY: 'block' });
    const w = world;
    w.wavespeed.nextOutcome({ nsfw: true });
    await (await w.animate()).waitForReply();

    const notice = await refundNotice(w);
    expect(notice.content).toContain('flagged');
    expect(results(w)).toHaveLength(0);
    expect(threadMessages(w).every((m) => m.attachments.length === 0)).toBe(true);
    expect((await statementOf(w)).balance).toBe(100);
  });
});
