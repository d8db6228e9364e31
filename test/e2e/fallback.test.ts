// When the thread or channel goes away mid-job, results and failure notices still reach the
// member: the channel, then a follow-up on the interaction while its token lives, then a DM.
import { visibleText } from '../fakes/discord/visible.js';
import { afterEach, describe, expect, it } from 'vitest';
import { closeChecked, creditsOf, startWorld, type World } from './harness.js';

let world: World | undefined;
afterEach(async () => {
  await closeChecked(world);
  world = undefined;
});

const isResult = (m: { content: string }) => m.content.includes('your video is ready');
const isFailure = (m: { content: string }) => /-# failure · job /.test(m.content);

/** Starts a job whose provider holds it, and resolves with the thread once the status is up. */
async function heldJob(w: World) {
  w.wavespeed.hold();
  const interaction = await w.animate();
  await interaction.waitForReply();
  const thread = await w.discord.waitFor(() => w.discord.threads[0]);
  await w.discord.waitFor(() => w.wavespeed.submissions.length === 1, 10_000);
  return { interaction, thread };
}

describe('delivery when the thread or channel goes away', () => {
  it('posts the result in the channel when the thread was deleted', async () => {
    world = await startWorld();
    const w = world;
    const { thread } = await heldJob(w);
    w.discord.deleteChannel(thread.id);
    w.wavespeed.release();
    const result = await w.discord.waitFor(
      () => w.discord.messagesIn(w.discord.channelId).find(isResult),
      15_000,
    );
    expect(result.attachments).toHaveLength(1);
    expect(result.allowed_mentions).toMatchObject({ users: [w.member.id] });
    // Delivered means charged, and the status message says so.
    await w.discord.waitFor(() => visibleText(w.discord.messagesIn(w.discord.channelId)[0]).includes('Done'));
    expect(await creditsOf(w)).toBe(80);
  });

  it('posts the result in the channel when the thread was locked', async () => {
    world = await startWorld();
    const w = world;
    const { thread } = await heldJob(w);
    w.discord.lockThread(thread.id);
    w.wavespeed.release();
    await w.discord.waitFor(() => w.discord.messagesIn(w.discord.channelId).find(isResult), 15_000);
    expect(w.discord.messagesIn(thread.id).filter(isResult)).toHaveLength(0);
  });

  it('follows up on the interaction when neither thread nor channel takes messages', async () => {
    world = await startWorld();
    const w = world;
    const { interaction, thread } = await heldJob(w);
    w.discord.deleteChannel(thread.id);
    w.discord.denyPermissions(w.discord.channelId, ['SendMessages']);
    w.wavespeed.release();
    const followup = await w.discord.waitFor(() => interaction.followups.find(isResult), 15_000);
    expect(followup.flags & 64).toBe(0);
    expect(followup.content).toContain(`<@${w.member.id}>`);
    expect(followup.allowed_mentions).toMatchObject({ users: [w.member.id] });
  });

  it('sends a DM when the interaction token has expired too', async () => {
    world = await startWorld();
    const w = world;
    const { thread } = await heldJob(w);
    w.discord.deleteChannel(thread.id);
    w.discord.denyPermissions(w.discord.channelId, ['SendMessages']);
    w.discord.expireInteractionTokens();
    w.wavespeed.release();
    const dm = w.discord.dmChannelFor(w.member.id);
    const result = await w.discord.waitFor(() => w.discord.messagesIn(dm.id).find(isResult), 15_000);
    expect(result.attachments).toHaveLength(1);
  });

  it('tells the member of a failure by follow-up, then by DM, when the thread and channel are closed', async () => {
    world = await startWorld();
    const w = world;
    w.wavespeed.nextOutcome({ status: 'failed', error: 'boom' });
    const { interaction, thread } = await heldJob(w);
    w.discord.denyPermissions(w.discord.channelId, ['SendMessages', 'SendMessagesInThreads']);
    expect(thread.id).toBeTruthy();
    w.wavespeed.release();
    const notice = await w.discord.waitFor(() => interaction.followups.find(isFailure), 15_000);
    expect(notice.flags & 64).toBe(64);
    expect(notice.content).toContain('refunded');
    expect(await creditsOf(w)).toBe(100);

    w.wavespeed.nextOutcome({ status: 'failed', error: 'boom again' });
    w.wavespeed.hold();
    const other = w.discord.addChannel({ name: 'second' });
    const second = await w.animate({ channelId: other.id });
    await second.waitForReply();
    await w.discord.waitFor(() => w.discord.threads.length === 2);
    w.discord.denyPermissions(other.id, ['SendMessages', 'SendMessagesInThreads']);
    w.discord.expireInteractionTokens();
    w.wavespeed.release();
    const dm = w.discord.dmChannelFor(w.member.id);
    await w.discord.waitFor(() => w.discord.messagesIn(dm.id).find(isFailure), 15_000);
  });
});
