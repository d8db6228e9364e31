// SIGTERM as a host's supervisor sends it (systemd, Docker, a deploy): new interactions are told
// to come back, steps in flight finish or stop, the process exits 0 within 10 s, and the job
// carries on at the next start, delivered once and charged once.
import { afterEach, describe, expect, it } from 'vitest';
import { startChildWorld, type ChildWorld } from './child.js';

let world: ChildWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const SUBMIT = /^\/api\/v3\/luma\//;

/** /credits once the job's hold is settled (the result is posted a moment before the spend). */
async function settledCredits(w: ChildWorld) {
  for (let i = 0; i < 50; i++) {
    const statement = await w.credits();
    if (statement.held === 0) return statement;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return w.credits();
}

/** Holds the fake WaveSpeed's answer to the next submit until `release()` (the task is created). */
function holdSubmit(w: ChildWorld): { reached: Promise<void>; release: () => void } {
  let release!: () => void;
  let reached!: () => void;
  const reachedP = new Promise<void>((resolve) => (reached = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  const off = w.wavespeed.onRequest('POST', SUBMIT, async () => {
    off();
    reached();
    await released;
  });
  return { reached: reachedP, release };
}

/** A running bot with one job whose submit the fake has taken but not yet answered. */
async function jobMidSubmit() {
  world = await startChildWorld();
  const w = world;
  await w.start();
  const before = await w.credits();
  const submit = holdSubmit(w);
  await (await w.animate()).waitForReply(10_000);
  await submit.reached; // the job's submit is in flight: a step the engine waits for
  return { w, before, submit };
}

describe('SIGTERM mid-job', () => {
  it('tells a new command the bot is restarting, exits 0 within 10 s, and delivers the job once after the restart', async () => {
    const { w, before, submit } = await jobMidSubmit();
    const signalledAt = Date.now();
    const exited = w.stop();
    await w.waitFor(() => w.logs().some((l) => l.msg === 'shutting down'));

    // While it drains, a new /animate is refused kindly, and nothing is charged for it.
    const late = await w.animate({ prompt: 'a second request during the restart' });
    const reply = await late.waitForReply(5_000);
    expect(reply.content).toContain('restarting, try again in a minute');
    expect(reply.ephemeral).toBe(true);

    submit.release(); // the submit answers; the step finishes and the engine stops
    expect(await exited).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(10_000);
    expect(
      w
        .logs()
        .filter((l) => l.run === 0)
        .some((l) => l.msg === 'stopped'),
    ).toBe(true);

    await w.start();
    await w.waitFor(() => w.threadMessages().some((m) => m.attachments.length > 0), 20_000);
    // One submit for the job, one result, one charge; the refused request left no trace.
    expect(w.wavespeed.submissions).toHaveLength(1);
    expect(w.threadMessages().filter((m) => m.attachments.length > 0)).toHaveLength(1);
    const after = await settledCredits(w);
    expect(after.balance).toBe(before.balance - 20);
    expect(after.held).toBe(0);
    expect(after.charged).toBe(1);
  }, 60_000);

  it('exits 0 by 10 s even when a submit never answers, and the job ends exactly once after the restart', async () => {
    const { w, before, submit } = await jobMidSubmit();
    const signalledAt = Date.now();
    expect(await w.stop()).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(10_500);
    expect(w.logs().some((l) => l.msg.includes('stop deadline'))).toBe(true);
    submit.release();

    await w.start();
    // Whatever the restart makes of a submit it never heard back from, it happens once: a
    // delivered video charged once, or a refund with a notice.
    const ended = await w.waitFor(() => {
      const messages = w.threadMessages();
      const results = messages.filter((m) => m.attachments.length > 0);
      const notices = messages.filter((m) => /refunded/i.test(m.content));
      return results.length + notices.length > 0 ? { results, notices } : undefined;
    }, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(ended.results.length + ended.notices.length).toBe(1);
    const after = await settledCredits(w);
    expect(after.held).toBe(0);
    expect(after.balance).toBe(ended.results.length === 1 ? before.balance - 20 : before.balance);
  }, 60_000);
});
