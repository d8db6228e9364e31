// Threads, end to end with real discord.js against the fake Discord: a forum or media channel
// gets a post whose starter message is the status card.
// The DM, the 160006 limit and a thread used as the channel are in placement.test.ts.
import { afterEach, describe, expect, it } from 'vitest';
import type { StoredMessage } from '../fakes/discord/index.js';
import { visibleText } from '../fakes/discord/visible.js';
import { closeChecked, creditsOf, startWorld, type World } from './harness.js';

let world: World | undefined;
afterEach(async () => {
  await closeChecked(world);
  world = undefined;
});

const isResult = (m: { content: string }) => m.content.includes('your video is ready');
const isStatus = (m: { content: string }) => m.content.includes('-# status · job ');

/** Every request Discord refused; a bot that knows where it may post makes none. */
const refused = (w: World) => w.discord.requests.filter((r) => (r.status ?? 200) >= 400);

function button(message: StoredMessage | undefined, action: string): string {
  const ids = (message?.components ?? []).flatMap((row) =>
    ((row as { components?: { custom_id?: string }[] }).components ?? []).map((c) => c.custom_id ?? ''),
  );
  const id = ids.find((c) => c.startsWith(`v1:${action}:`));
  if (!id) throw new Error(`no ${action} button: ${JSON.stringify(ids)}`);
  return id;
}

describe('a forum or media channel: the job gets a post of its own', () => {
  it.each([
    ['forum', 15],
    ['media', 16],
  ] as const)('in a %s channel the status card starts the post, the video lands in it', async (_, type) => {
    world = await startWorld();
    const w = world;
    const forum = w.discord.addChannel({ name: 'gallery', type });
    const reply = await (
      await w.animate({ channelId: forum.id, prompt: 'a fox\nin the snow' })
    ).waitForReply();
    expect(reply.content).toContain('20 credits reserved');
    expect(reply.content).toContain('a new post in this channel');

    const post = await w.discord.waitFor(() => w.discord.threads.find((t) => t.parentId === forum.id));
    expect(post.name).toBe('a fox in the snow');
    // The starter message is the status card: the post and the message share an id.
    expect(post.starterMessageId).toBe(post.id);
    const result = await w.discord.waitFor(() => w.discord.messagesIn(post.id).find(isResult), 10_000);
    expect(result.attachments).toHaveLength(1);
    const [status] = w.discord.messagesIn(post.id);
    expect(status?.id).toBe(post.id);
    expect(status && isStatus(status)).toBe(true);
    expect(status?.allowed_mentions).toEqual({ parse: [] });

    expect(w.discord.threads).toHaveLength(1);
    expect(refused(w)).toEqual([]);
    expect(await creditsOf(w)).toBe(80);
  });

  it('Cancel on the card in a forum post refunds, and reruns land in the same post', async () => {
    world = await startWorld();
    const w = world;
    const forum = w.discord.addChannel({ name: 'gallery', type: 15 });
    w.wavespeed.hold();
    await (await w.animate({ channelId: forum.id })).waitForReply();
    const post = await w.discord.waitFor(() => w.discord.threads.find((t) => t.parentId === forum.id));
    await w.discord.waitFor(() => w.wavespeed.submissions.length === 1, 10_000);
    const card = w.discord.messagesIn(post.id)[0];
    const pressed = await w.discord.pressButton({
      user: w.member,
      customId: button(card, 'cancel'),
      messageId: post.id,
      channelId: post.id,
    });
    expect((await pressed.waitForReply(5000)).content).toContain('Cancelled.');
    await w.discord.waitFor(() => visibleText(w.discord.messagesIn(post.id)[0]).includes('Cancelled'));
    expect(await creditsOf(w)).toBe(100);
    w.wavespeed.release();

    await (await w.animate({ channelId: forum.id, prompt: 'second' })).waitForReply();
    const second = await w.discord.waitFor(() =>
      w.discord.threads.find((t) => t.parentId === forum.id && t.id !== post.id),
    );
    const result = await w.discord.waitFor(() => w.discord.messagesIn(second.id).find(isResult), 10_000);
    const fan = w.discord.addUser({ username: 'fan' });
    const rerun = await w.discord.pressButton({
      user: fan,
      customId: button(result, 'rerun'),
      messageId: result.id,
      channelId: second.id,
    });
    expect((await rerun.waitForReply(5000)).content).toContain('Rerun accepted');
    await w.discord.waitFor(() => w.discord.messagesIn(second.id).filter(isResult).length === 2, 10_000);
    // The rerun's own card is in the post too, and no third post was made.
    expect(w.discord.messagesIn(second.id).filter(isStatus)).toHaveLength(2);
    expect(w.discord.threads).toHaveLength(2);
    expect(refused(w)).toEqual([]);
  });

  it('inside a forum post: status and video in that post, no new post', async () => {
    world = await startWorld();
    const w = world;
    const forum = w.discord.addChannel({ name: 'gallery', type: 15 });
    const post = w.discord.addThread({ parentId: forum.id, name: 'show your cats' });
    await (await w.animate({ channelId: post.id })).waitForReply();
    await w.discord.waitFor(() => w.discord.messagesIn(post.id).find(isResult), 10_000);
    expect(w.discord.messagesIn(post.id).filter(isStatus)).toHaveLength(1);
    expect(w.discord.threads).toHaveLength(1);
    expect(refused(w)).toEqual([]);
  });

  it('refuses a forum that requires a tag on every post, and charges nothing', async () => {
    world = await startWorld();
    const w = world;
    const forum = w.discord.addChannel({ name: 'tagged', type: 15, requireTag: true });
    const reply = await (await w.animate({ channelId: forum.id })).waitForReply();
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toContain('requires a tag');
    expect(w.wavespeed.submissions).toHaveLength(0);
    expect(w.discord.threads).toHaveLength(0);
    expect(await creditsOf(w)).toBe(100);
  });

  it('refuses a forum where it may not send messages in threads (its own post included)', async () => {
    world = await startWorld();
    const w = world;
    const forum = w.discord.addChannel({ name: 'gallery', type: 15 });
    w.discord.denyPermissions(forum.id, ['SendMessagesInThreads']);
    const reply = await (await w.animate({ channelId: forum.id })).waitForReply();
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toContain('**Send Messages in Threads**');
    expect(w.wavespeed.submissions).toHaveLength(0);
    expect(await creditsOf(w)).toBe(100);
  });
});
