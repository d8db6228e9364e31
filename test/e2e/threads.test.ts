// Threads, end to end with real discord.js against the fake Discord: a forum or media channel
// gets a post whose starter message is the status card; a thread used as the channel gets no
// thread of its own; without Create Public Threads (or Send Messages in Threads) the channel takes
// the thread's place without asking Discord first; a thread is named from the prompt within
// Discord's 100 characters; and reruns, by 🔁 or the Rerun button, land in the original's thread.
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
/** What a message allowed to ping, as it was sent. */
const mentions = (m: StoredMessage | undefined) =>
  (m?.allowed_mentions ?? {}) as { parse?: string[]; users?: string[] };
const THREAD_POSTS = /^\/api\/v\d+\/channels\/(\d+)\/(messages\/\d+\/)?threads$/;

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

describe('no thread where the bot may not make one or post in it', () => {
  it.each(['CreatePublicThreads', 'SendMessagesInThreads'] as const)(
    'without %s: status and video in the channel, and Discord is never asked for a thread',
    async (permission) => {
      world = await startWorld();
      const w = world;
      const channel = w.discord.addChannel({ name: 'no-threads' });
      w.discord.denyPermissions(channel.id, [permission]);
      await (await w.animate({ channelId: channel.id })).waitForReply();
      const result = await w.discord.waitFor(() => w.discord.messagesIn(channel.id).find(isResult), 10_000);
      expect(result.attachments).toHaveLength(1);
      expect(w.discord.messagesIn(channel.id).filter(isStatus)).toHaveLength(1);
      expect(w.discord.threads).toHaveLength(0);
      expect(w.discord.requests.filter((r) => THREAD_POSTS.test(r.path))).toEqual([]);
      expect(refused(w)).toEqual([]);
      expect(await creditsOf(w)).toBe(80);
    },
  );
});

describe('the thread name', () => {
  it('is the prompt on one line, cut to 100 characters, markdown and mentions kept as text and pinging no one', async () => {
    world = await startWorld();
    const w = world;
    const stranger = w.discord.addUser({ username: 'stranger' });
    const head = `**Bold** _cat_ <@${stranger.id}> @everyone # big`;
    const prompt = `${head}\n\n> quoted\t${'ж'.repeat(300)} 🐈 ${'x'.repeat(1500)}`;
    await (await w.animate({ prompt })).waitForReply();
    const thread = await w.discord.waitFor(() => w.discord.threads[0]);
    expect(thread.name.length).toBeLessThanOrEqual(100);
    expect(thread.name.startsWith(`${head} > quoted жжж`)).toBe(true);
    expect(thread.name.endsWith('…')).toBe(true);
    expect(thread.name).not.toMatch(/\s{2}|[\n\t]/);

    const result = await w.discord.waitFor(() => w.discord.messagesIn(thread.id).find(isResult), 10_000);
    const status = w.discord.messagesIn(w.discord.channelId)[0];
    expect(status?.allowed_mentions).toEqual({ parse: [] });
    expect(result.allowed_mentions).toMatchObject({ users: [w.member.id] });
    expect(mentions(result).parse ?? []).toEqual([]);
    for (const m of [...w.discord.messagesIn(w.discord.channelId), ...w.discord.messagesIn(thread.id)]) {
      expect([...m.content].length).toBeLessThanOrEqual(2000);
    }
    expect(refused(w)).toEqual([]);
  });
});

describe('reruns go into the same thread', () => {
  it('by the Rerun button and by 🔁: each rerun’s card and video in the original’s thread, no new thread', async () => {
    world = await startWorld();
    const w = world;
    await (await w.animate()).waitForReply();
    const thread = await w.discord.waitFor(() => w.discord.threads[0]);
    const result = await w.discord.waitFor(() => w.discord.messagesIn(thread.id).find(isResult), 10_000);

    const presser = w.discord.addUser({ username: 'presser' });
    const pressed = await w.discord.pressButton({
      user: presser,
      customId: button(result, 'rerun'),
      messageId: result.id,
      channelId: thread.id,
    });
    expect((await pressed.waitForReply(5000)).content).toContain('It will appear in the same thread.');
    await w.discord.waitFor(() => w.discord.messagesIn(thread.id).filter(isResult).length === 2, 10_000);

    const reactor = w.discord.addUser({ username: 'reactor' });
    w.discord.react({ user: reactor, channelId: thread.id, messageId: result.id, emoji: '🔁' });
    await w.discord.waitFor(() => w.discord.messagesIn(thread.id).filter(isResult).length === 3, 10_000);

    const inThread = w.discord.messagesIn(thread.id);
    expect(inThread.filter(isStatus)).toHaveLength(2);
    expect(inThread.filter(isResult).map((m) => mentions(m).users)).toEqual([
      [w.member.id],
      [presser.id],
      [reactor.id],
    ]);
    // The channel holds only the original's card, the thread's starter.
    expect(w.discord.messagesIn(w.discord.channelId).map((m) => m.id)).toEqual([thread.id]);
    expect(w.discord.threads).toHaveLength(1);
    expect(refused(w)).toEqual([]);
  });
  it.each(['deleted', 'locked'] as const)(
    'a result that fell back to the channel (its thread %s) reruns where it is, by 🔁 and by the button',
    async (what) => {
      world = await startWorld();
      const w = world;
      w.wavespeed.hold();
      await (await w.animate()).waitForReply();
      const thread = await w.discord.waitFor(() => w.discord.threads[0]);
      await w.discord.waitFor(() => w.wavespeed.submissions.length === 1, 10_000);
      if (what === 'deleted') w.discord.deleteChannel(thread.id);
      else w.discord.lockThread(thread.id);
      w.wavespeed.release();
      const channel = w.discord.channelId;
      const result = await w.discord.waitFor(() => w.discord.messagesIn(channel).find(isResult), 15_000);

      w.discord.react({ user: w.member, channelId: channel, messageId: result.id, emoji: '🔁' });
      const fan = w.discord.addUser({ username: 'fan' });
      const pressed = await w.discord.pressButton({
        user: fan,
        customId: button(result, 'rerun'),
        messageId: result.id,
        channelId: channel,
      });
      expect((await pressed.waitForReply(5000)).content).toContain('Rerun accepted');
      // Each rerun's card is in the channel, where the result is, and starts a thread there.
      const reruns = await w.discord.waitFor(() => {
        const t = w.discord.threads.filter((x) => x.id !== thread.id);
        return t.length === 2 && t.every((x) => w.discord.messagesIn(x.id).some(isResult)) && t;
      }, 15_000);
      expect(reruns.map((t) => t.parentId)).toEqual([channel, channel]);
      expect(w.discord.messagesIn(channel).filter(isStatus)).toHaveLength(3);
      expect(await creditsOf(w)).toBe(60);
      expect(await creditsOf(w, fan)).toBe(80);
    },
  );
});
