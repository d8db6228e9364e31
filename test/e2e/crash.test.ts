// Crash tests: the bot runs as a child process and is killed with SIGKILL at each step of the job
// state machine, from inside the fakes, right between a side effect (a task created, a message
// stored) and the bot hearing of it. It is then started again on the same SQLite store, and the
// outcome is checked from outside: one submit per job, one delivery, credits exact.
import { visibleText } from '../fakes/discord/visible.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { RecordedRequest } from '../fakes/discord/index.js';
import type { HookedRequest } from '../fakes/wavespeed.js';
import { startChildWorld, type ChildWorld } from './child.js';

let world: ChildWorld | undefined;
afterEach(async () => {
  // No bot may outlive its test, whatever happened in it.
  await world?.close();
  world = undefined;
});

interface KillPoint<R> {
  /** Resolves with the request once the bot is dead; fails with the bot's output if it never came. */
  landed(): Promise<R>;
}

/** Arms a one-shot hook that SIGKILLs the bot when a matching request arrives, before the answer. */
function killPoint<R>(
  w: ChildWorld,
  on: (hook: (request: R) => Promise<void>) => () => void,
  when: (request: R) => boolean,
): KillPoint<R> {
  let hit: R | undefined;
  let fired = false;
  const off = on(async (request) => {
    if (fired || !when(request)) return;
    fired = true;
    off();
    await w.kill9();
    hit = request;
  });
  return { landed: () => w.waitFor(() => hit, 15_000) };
}

const killOnDiscord = (
  w: ChildWorld,
  method: string,
  path: RegExp,
  when: (request: RecordedRequest) => boolean = () => true,
) => killPoint(w, (hook) => w.discord.onRequest(method, path, hook), when);

const killOnWaveSpeed = (w: ChildWorld, method: string, path: RegExp) =>
  killPoint<HookedRequest>(
    w,
    (hook) => w.wavespeed.onRequest(method, path, hook),
    () => true,
  );

const contentOf = (request: RecordedRequest): string => {
  const json = request.json as { content?: unknown } | undefined;
  return typeof json?.content === 'string' ? json.content : '';
};

const MESSAGE_POST = /^\/api\/v\d+\/channels\/\d+\/messages$/;
const MESSAGE_EDIT = /^\/api\/v\d+\/channels\/\d+\/messages\/\d+$/;
const RESULT_MARKER = '-# result · job ';
const FAILURE_MARKER = '-# failure · job ';

function jobIdOf(w: ChildWorld): string {
  const id = w.logs().find((l) => l.msg === 'job accepted')?.jobId;
  if (typeof id !== 'string') throw new Error(`no 'job accepted' log line\n${w.output()}`);
  return id;
}

const resultsFor = (w: ChildWorld, jobId: string) =>
  w.threadMessages().filter((m) => m.content.includes(`${RESULT_MARKER}${jobId}`));
const failuresFor = (w: ChildWorld, jobId: string) =>
  w.threadMessages().filter((m) => m.content.includes(`${FAILURE_MARKER}${jobId}`));

/** The job's status message (the thread's starter) as it reads now. */
function statusText(w: ChildWorld): string {
  const thread = w.discord.threads[0];
  const status = w.discord.messagesIn(w.discord.channelId).find((m) => m.id === thread?.starterMessageId);
  return visibleText(status);
}

/** Waits for the status message to show the job finished: delivered and charged, or refunded. */
const settled = (w: ChildWorld, word: 'Done' | 'Failed') => w.waitFor(() => statusText(w).includes(word));

async function expectDeliveredOnce(w: ChildWorld, jobId: string): Promise<void> {
  await settled(w, 'Done');
  const results = resultsFor(w, jobId);
  expect(results).toHaveLength(1);
  expect(results[0]?.attachments).toHaveLength(1);
  const task = [...w.wavespeed.tasks.values()][0];
  expect(task && results[0]?.attachments[0]?.bytes.equals(task.videoBytes)).toBe(true);
  expect(w.wavespeed.submissions).toHaveLength(1);
  const statement = await w.credits();
  expect(statement).toMatchObject({ balance: 80, charged: 1, held: 0, refunded: 0 });
}

describe('SIGKILL at each step, then a restart on the same store', () => {
  it('accepted: killed after Discord made the status thread but before the bot heard, it reuses that status message and thread', async () => {
    const w = (world = await startChildWorld());
    await w.start();
    const killed = killOnDiscord(w, 'POST', /^\/api\/v\d+\/channels\/\d+\/messages\/\d+\/threads$/);
    await w.animate();
    await killed.landed();
    const jobId = jobIdOf(w);
    expect(w.discord.threads).toHaveLength(1);

    await w.restart();
    await expectDeliveredOnce(w, jobId);
    // One status message (the nonce handed the first one back), one thread, the result inside it.
    expect(w.discord.messagesIn(w.discord.channelId)).toHaveLength(1);
    expect(w.discord.threads).toHaveLength(1);
    expect(resultsFor(w, jobId)[0]?.channel_id).toBe(w.discord.threads[0]?.id);
  }, 30_000);

  it('accepted: killed while uploading the input image, it fetches the image again from Discord and delivers once', async () => {
    const w = (world = await startChildWorld());
    await w.start();
    const killed = killOnWaveSpeed(w, 'PUT', /^\/signed\//);
    await w.animate();
    await killed.landed();
    const jobId = jobIdOf(w);
    expect(w.wavespeed.uploads).toHaveLength(1);
    expect(w.wavespeed.submissions).toHaveLength(0);

    const restartedAt = Date.now();
    await w.restart();
    await expectDeliveredOnce(w, jobId);
    // The bytes were only in the dead process's memory: they came from the Discord CDN again.
    const cdnAfter = w.discord.requests.filter((r) => r.path.startsWith('/cdn/') && r.at >= restartedAt);
    expect(cdnAfter).toHaveLength(1);
    expect(w.wavespeed.uploads).toHaveLength(2);
    expect((w.wavespeed.submissions[0]?.body as { image?: unknown }).image).toBe(w.wavespeed.uploads[1]?.url);
  }, 30_000);

  it('submitting: killed when the provider has the submit but before it answers, the member is refunded and told, the log names the job', async () => {
    const w = (world = await startChildWorld());
    await w.start();
    const killed = killOnWaveSpeed(w, 'POST', /^\/api\/v3\/luma\//);
    await w.animate();
    await killed.landed();
    const jobId = jobIdOf(w);
    // The provider did take it: this is the window no store can close.
    expect(w.wavespeed.submissions).toHaveLength(1);
    expect(w.wavespeed.tasks.size).toBe(1);

    await w.restart();
    await settled(w, 'Failed');
    const notices = failuresFor(w, jobId);
    expect(notices).toHaveLength(1);
    expect(notices[0]?.content).toContain('restarted');
    expect(notices[0]?.content).toContain('20 credits were refunded');
    const named = w
      .logs()
      .filter(
        (l) => l.run === 1 && l.level >= 40 && l.jobId === jobId && /submit outcome unknown/.test(l.msg),
      );
    expect(named).toHaveLength(1);
    expect(w.wavespeed.submissions).toHaveLength(1);
    expect(resultsFor(w, jobId)).toHaveLength(0);
    expect(await w.credits()).toMatchObject({ balance: 100, charged: 0, held: 0, refunded: 1 });
  }, 30_000);

  it('submitted: killed while the provider is still running, the restarted bot polls on and the video arrives once (real discord.js)', async () => {
    const w = (world = await startChildWorld());
    await w.start();
    w.wavespeed.hold();
    const killed = killOnWaveSpeed(w, 'GET', /^\/api\/v3\/predictions\//);
    await w.animate();
    await killed.landed();
    const jobId = jobIdOf(w);
    const task = [...w.wavespeed.tasks.values()][0];
    expect(task && w.wavespeed.statusOf(task.id)).toBe('processing');

    const polled = w.wavespeed.polls.length;
    await w.restart();
    await w.waitFor(() => w.wavespeed.polls.length > polled);
    expect(resultsFor(w, jobId)).toHaveLength(0);
    w.wavespeed.release();
    await expectDeliveredOnce(w, jobId);
    expect(w.wavespeed.polls.every((p) => p.id === task?.id)).toBe(true);
  }, 30_000);

  it('delivering: killed while downloading the finished video, it downloads again and delivers once', async () => {
    const w = (world = await startChildWorld());
    await w.start();
    const killed = killOnWaveSpeed(w, 'GET', /^\/files\/.+\.mp4$/);
    await w.animate();
    await killed.landed();
    const jobId = jobIdOf(w);
    expect(resultsFor(w, jobId)).toHaveLength(0);

    await w.restart();
    await expectDeliveredOnce(w, jobId);
    expect(w.wavespeed.requests.filter((r) => r.path.startsWith('/files/'))).toHaveLength(2);
  }, 30_000);

  it('delivering: killed after Discord stored the result but before the bot heard, it finds that post and never posts twice; 🔁 on it still reruns', async () => {
    const w = (world = await startChildWorld());
    await w.start();
    const killed = killOnDiscord(w, 'POST', MESSAGE_POST, (r) => contentOf(r).includes(RESULT_MARKER));
    await w.animate();
    await killed.landed();
    const jobId = jobIdOf(w);
    expect(resultsFor(w, jobId)).toHaveLength(1);

    const restartedAt = Date.now();
    await w.restart();
    await expectDeliveredOnce(w, jobId);
    // Found again by looking, not by leaning on Discord's nonce window (minutes) with a second post.
    const reposts = w.discord.requests.filter(
      (r) => r.at >= restartedAt && contentOf(r).includes(RESULT_MARKER),
    );
    expect(reposts).toHaveLength(0);

    const result = resultsFor(w, jobId)[0];
    if (!result) throw new Error('no result message');
    w.discord.react({ user: w.member, channelId: result.channel_id, messageId: result.id, emoji: '🔁' });
    await w.waitFor(() => w.logs().filter((l) => l.run === 1 && l.msg === 'job delivered').length === 2);
    const results = w.threadMessages().filter((m) => m.content.includes(RESULT_MARKER));
    expect(results).toHaveLength(2);
    expect(resultsFor(w, jobId)).toHaveLength(1);
    expect(w.wavespeed.submissions).toHaveLength(2);
    expect(await w.credits()).toMatchObject({ balance: 60, charged: 2, held: 0 });
  }, 30_000);

  it('delivering: killed while the bot adds its 🔁 to the posted result, it finds that post and delivers once', async () => {
    const w = (world = await startChildWorld());
    await w.start();
    const killed = killOnDiscord(w, 'PUT', /\/reactions\/[^/]+\/@me$/);
    await w.animate();
    await killed.landed();
    const jobId = jobIdOf(w);

    await w.restart();
    await expectDeliveredOnce(w, jobId);
    const reactions = resultsFor(w, jobId)[0]?.reactions ?? [];
    expect(reactions.map((r) => r.emoji.name)).toEqual(['🔁']);
  }, 30_000);

  it('delivered: killed while the status turns to Done, the restart does nothing more', async () => {
    const w = (world = await startChildWorld());
    await w.start();
    const killed = killOnDiscord(w, 'PATCH', MESSAGE_EDIT, (r) =>
      JSON.stringify(r.json ?? {}).includes('Done'),
    );
    await w.animate();
    await killed.landed();
    const jobId = jobIdOf(w);

    const restartedAt = Date.now();
    await w.restart();
    await expectDeliveredOnce(w, jobId);
    const posts = w.discord.requests.filter((r) => r.method === 'POST' && MESSAGE_POST.test(r.path));
    expect(posts.filter((r) => r.at >= restartedAt)).toHaveLength(0);
    const resumed = await w.waitFor(() => w.logs().find((l) => l.run === 1 && l.msg === 'resumed open jobs'));
    expect(resumed.jobs).toBe(0);
  }, 30_000);

  it('failed: killed while the failure notice is posted, the member is refunded once and told once', async () => {
    const w = (world = await startChildWorld());
    await w.start();
    w.wavespeed.nextOutcome({ status: 'failed', code: 1402, error: 'x' });
    const killed = killOnDiscord(w, 'POST', MESSAGE_POST, (r) => contentOf(r).includes(FAILURE_MARKER));
    await w.animate();
    await killed.landed();
    const jobId = jobIdOf(w);
    expect(failuresFor(w, jobId)).toHaveLength(1);

    await w.restart();
    await settled(w, 'Failed');
    expect(failuresFor(w, jobId)).toHaveLength(1);
    expect(failuresFor(w, jobId)[0]?.content).toContain('20 credits were refunded');
    // The restarted bot finds the notice by its marker and does not send it again (the nonce
    // alone would only dedupe for a few minutes on real Discord).
    const attempts = w.discord.requests.filter((r) => contentOf(r).includes(`${FAILURE_MARKER}${jobId}`));
    expect(attempts).toHaveLength(1);
    expect(attempts[0]?.json).toMatchObject({ nonce: `f${jobId}`, enforce_nonce: true });
    expect(w.wavespeed.submissions).toHaveLength(1);
    expect(await w.credits()).toMatchObject({ balance: 100, charged: 0, held: 0, refunded: 1 });
  }, 30_000);
});
