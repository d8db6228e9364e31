// A 🔁 reactor who cannot pay is told privately; with their DMs closed, by a short message where
// they reacted that pings only them.
import { afterEach, describe, expect, it } from 'vitest';
import { closeChecked, resultMessage, startWorld, threadMessages, type World } from './harness.js';

let world: World | undefined;
afterEach(async () => {
  await closeChecked(world);
  world = undefined;
});

describe('a rerun the reactor cannot pay for', () => {
  it('is told in the thread, mentioning only them, when their DMs are closed', async () => {
    world = await startWorld({ STARTING_CREDITS: '50' });
    const w = world;
    // wavespeed/ray-2 for 5 s costs 40: the member has 10 left, a rerun needs 40.
    await (
      await w.animate({ options: [{ name: 'model', type: 3, value: 'wavespeed/ray-2' }] })
    ).waitForReply();
    const result = await resultMessage(w);
    const thread = w.discord.threads[0];
    if (!thread) throw new Error('no thread');
    w.discord.blockDms(w.member.id);
    w.discord.react({ user: w.member, channelId: thread.id, messageId: result.id, emoji: '🔁' });
    const notice = await w.discord.waitFor(
      () => threadMessages(w).find((m) => m.content.includes('nothing was started or charged')),
      10_000,
    );
    expect(notice.content).toContain(`<@${w.member.id}>`);
    expect(notice.allowed_mentions).toEqual({ parse: [], users: [w.member.id] });
    expect(w.wavespeed.submissions).toHaveLength(1);
  });
});
