// The buttons on our messages, end to end with real discord.js: Cancel on a status message (and
// in /jobs), Rerun, Edit & rerun and Delete on a result; who may press them; that they still work
// after a restart; and that an id we cannot read is answered as stale.
import { afterEach, describe, expect, it } from 'vitest';
import type { StoredMessage } from '../fakes/discord/index.js';
import { creditsOf, resultMessage, startWorld, threadMessages, type World } from './harness.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const READY = 'your video is ready';
const statusOf = (w: World): StoredMessage | undefined => w.discord.messagesIn(w.discord.channelId)[0];
const customIds = (m: StoredMessage | undefined): string[] =>
  (m?.components ?? []).flatMap((row) =>
    ((row as { components?: { custom_id?: string }[] }).components ?? []).map((c) => c.custom_id ?? ''),
  );
const labels = (m: StoredMessage | undefined): string[] =>
  (m?.components ?? []).flatMap((row) =>
    ((row as { components?: { label?: string }[] }).components ?? []).map((c) => c.label ?? ''),
  );
const results = (w: World) => threadMessages(w).filter((m) => m.content.includes(READY));

async function press(w: World, user: World['member'], message: StoredMessage, action: string) {
  const id = customIds(message).find((c) => c.startsWith(`v1:${action}:`));
  if (!id) throw new Error(`no ${action} button on ${message.id}: ${JSON.stringify(customIds(message))}`);
  return w.discord.pressButton({ user, customId: id, messageId: message.id, channelId: message.channel_id });
}

describe('Cancel', () => {
  it('the requester cancels a running job: refunded, told, the button gone, and no result later', async () => {
    world = await startWorld();
    const w = world;
    w.wavespeed.hold();
    await (await w.animate()).waitForReply();
    await w.discord.waitFor(
      () => w.wavespeed.submissions.length === 1 && customIds(statusOf(w)).length === 1,
    );
    const status = statusOf(w) as StoredMessage;
    expect(labels(status)).toEqual(['Cancel']);

    const reply = await (await press(w, w.member, status, 'cancel')).waitForReply(5000);
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toContain('Cancelled. The 20 credits are refunded');
    await w.discord.waitFor(() =>
      threadMessages(w).some((m) => m.content.includes('You cancelled this video.')),
    );
    await w.discord.waitFor(() => customIds(statusOf(w)).length === 0);
    w.wavespeed.release(); // the provider finishes anyway
    await new Promise((r) => setTimeout(r, 1500));
    expect(results(w)).toHaveLength(0);
    expect(await creditsOf(w)).toBe(100);
  });

  it('a stranger is refused privately and the job carries on', async () => {
    world = await startWorld();
    const w = world;
    w.wavespeed.hold();
    await (await w.animate()).waitForReply();
    await w.discord.waitFor(() => customIds(statusOf(w)).length === 1);
    const stranger = w.discord.addUser({ username: 'stranger' });
    const reply = await (await press(w, stranger, statusOf(w) as StoredMessage, 'cancel')).waitForReply();
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toContain(
      'Only the member who asked for this video, or a moderator, can cancel it.',
    );
    w.wavespeed.release();
    await resultMessage(w);
    expect(await creditsOf(w)).toBe(80);
  });

  it('/jobs lists the open job with its own Cancel, which works', async () => {
    world = await startWorld();
    const w = world;
    w.wavespeed.hold();
    await (await w.animate({ prompt: 'a fox in the snow' })).waitForReply();
    await w.discord.waitFor(() => w.wavespeed.submissions.length === 1);
    const list = await (await w.discord.sendCommand({ name: 'jobs', user: w.member })).waitForReply();
    expect(list.ephemeral).toBe(true);
    expect(JSON.stringify(list.embeds)).toContain('a fox in the snow');
    const interaction = w.discord.interactions.at(-1);
    const message = interaction?.original();
    expect(labels(message)).toEqual(['Cancel']);
    const none = await (
      await w.discord.sendCommand({ name: 'jobs', user: w.discord.addUser({ username: 'idle' }) })
    ).waitForReply();
    expect(none.content).toContain('no jobs waiting or running');
    w.wavespeed.release();
  });
});

describe('result buttons', () => {
  it('Rerun is charged to whoever presses it and lands in the same thread', async () => {
    world = await startWorld();
    const w = world;
    await (await w.animate()).waitForReply();
    const result = await resultMessage(w);
    expect(labels(result)).toEqual(['Rerun', 'Edit & rerun', 'Delete']);
    const other = w.discord.addUser({ username: 'other' });
    const reply = await (await press(w, other, result, 'rerun')).waitForReply(5000);
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toContain('Rerun accepted: 20 credits reserved, 80 left.');
    await w.discord.waitFor(() => results(w).length === 2, 10_000);
    expect(results(w)[1]?.content).toContain(`<@${other.id}>`);
    expect(await creditsOf(w, other)).toBe(80);
    expect(await creditsOf(w)).toBe(80);
  });

  it('Edit & rerun opens a modal prefilled with the prompt; submitting reruns with the new one', async () => {
    world = await startWorld();
    const w = world;
    await (await w.animate({ prompt: 'the cat slowly blinks' })).waitForReply();
    const result = await resultMessage(w);
    const opened = await press(w, w.member, result, 'edit');
    await w.discord.waitFor(() => opened.callbacks.length > 0);
    const modal = opened.callbacks[0];
    expect(modal?.type).toBe(9);
    const data = JSON.stringify(modal?.data);
    expect(data).toContain('"title":"Edit & rerun"');
    expect(data).toContain('"custom_id":"prompt"');
    expect(data).toContain('"value":"the cat slowly blinks"');
    expect(data).toContain('"max_length":2000');

    const customId = (modal?.data as { custom_id?: string } | undefined)?.custom_id ?? '';
    const submitted = await w.discord.submitModal({
      user: w.member,
      customId,
      fields: { prompt: 'the cat yawns' },
    });
    expect((await submitted.waitForReply(5000)).content).toContain('Rerun accepted');
    await w.discord.waitFor(() => w.wavespeed.submissions.length === 2, 10_000);
    expect((w.wavespeed.submissions[1]?.body as { prompt?: string }).prompt).toBe('the cat yawns');
  });

  it('Delete removes the result for the requester and is refused to a stranger', async () => {
    world = await startWorld();
    const w = world;
    await (await w.animate()).waitForReply();
    const result = await resultMessage(w);
    const stranger = w.discord.addUser({ username: 'stranger' });
    const refused = await (await press(w, stranger, result, 'delete')).waitForReply();
    expect(refused.content).toContain('can delete it');
    expect(results(w)).toHaveLength(1);
    const done = await (await press(w, w.member, result, 'delete')).waitForReply(5000);
    expect(done.content).toBe('Deleted.');
    expect(results(w)).toHaveLength(0);
    expect(w.logs.some((l) => l.includes('"msg":"result deleted"') && l.includes(w.member.id))).toBe(true);
  });

  it('buttons on a result posted before a restart still work', async () => {
    world = await startWorld();
    const w = world;
    await (await w.animate()).waitForReply();
    const result = await resultMessage(w);
    await w.restart();
    const reply = await (await press(w, w.member, result, 'rerun')).waitForReply(5000);
    expect(reply.content).toContain('Rerun accepted');
    await w.discord.waitFor(() => results(w).length === 2, 10_000);
  });

  it('a button for a job the bot does not know is answered as no longer available', async () => {
    world = await startWorld();
    const w = world;
    await (await w.animate()).waitForReply();
    const result = await resultMessage(w);
    const reply = await (
      await w.discord.pressButton({
        user: w.member,
        customId: 'v1:rerun:AAAAAAAAAAAAAA',
        messageId: result.id,
        channelId: result.channel_id,
      })
    ).waitForReply();
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toContain('no longer available');
  });
});
