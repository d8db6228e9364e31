// The per-member limit end to end: a request over the limit waits in line, shows its place,
// and starts by itself when the member's running job finishes.
import { visibleText } from '../fakes/discord/visible.js';
import { afterEach, describe, expect, it } from 'vitest';
import { startWorld, type World } from './harness.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('waiting in line', () => {
  it('queues a request over the member limit, shows its place, and runs it after the first', async () => {
    world = await startWorld({ MAX_ACTIVE_JOBS_PER_MEMBER: '1' });
    const w = world;
    w.wavespeed.hold();
    const first = await (await w.animate({ prompt: 'first' })).waitForReply();
    const second = await (await w.animate({ prompt: 'second' })).waitForReply();
    expect(first.content).toContain('Accepted');
    expect(second.content).toContain('start when your other jobs finish');

    const statuses = () => w.discord.messagesIn(w.discord.channelId);
    await w.discord.waitFor(() =>
      statuses().find(
        (m) => visibleText(m).includes('second') && visibleText(m).includes('Waiting in line · place 1'),
      ),
    );
    // The first job may still be uploading its image: wait for its submit, then check that the
    // second is still held back while the first runs.
    await w.discord.waitFor(() => w.wavespeed.submissions.length >= 1);
    await new Promise((r) => setTimeout(r, 200));
    expect(w.wavespeed.submissions).toHaveLength(1);

    w.wavespeed.release();
    const results = () =>
      w.discord.threads
        .flatMap((t) => w.discord.messagesIn(t.id))
        .filter((m) => m.content.includes('your video is ready'));
    await w.discord.waitFor(() => results().length === 2, 10_000);
    expect(w.wavespeed.submissions).toHaveLength(2);
    // The second was submitted only after the first was delivered.
    const firstDelivered = results()[0]?.createdAt ?? 0;
    expect(w.wavespeed.submissions[1]?.at).toBeGreaterThanOrEqual(firstDelivered);
  });

  it('tells a member waiting for a full provider (not for their own jobs) that it starts when there is room', async () => {
    world = await startWorld({ PROVIDER_MAX_ACTIVE: 'wavespeed=1' });
    const w = world;
    w.wavespeed.hold();
    const other = w.discord.addUser({ username: 'other' });
    const first = await (await w.animate({ prompt: 'first', user: other })).waitForReply();
    const second = await (await w.animate({ prompt: 'second' })).waitForReply();
    expect(first.content).toContain('Accepted');
    expect(second.content).toContain('It is in line and will start as soon as there is room.');
    expect(second.content).not.toContain('your other jobs');
    w.wavespeed.release();
    await w.discord.waitFor(() => w.wavespeed.submissions.length === 2, 10_000);
  });
});
