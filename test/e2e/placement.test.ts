// Where results land (thread, channel, existing thread, DM) and Discord's limits, end to end.
import { afterEach, describe, expect, it } from 'vitest';
import { startWorld, type World } from './harness.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const isResult = (m: { content: string }) => m.content.includes('your video is ready');

describe('where the video goes', () => {
  it('uses the channel for results when no thread can be made there', async () => {
    world = await startWorld();
    const w = world;
    const channel = w.discord.addChannel({ name: 'no-threads', allowThreads: false });
    await (await w.animate({ channelId: channel.id })).waitForReply();
    const result = await w.discord.waitFor(() => w.discord.messagesIn(channel.id).find(isResult), 10_000);
    expect(result.attachments).toHaveLength(1);
    expect(w.discord.threads).toHaveLength(0);
  });

  it("uses the channel when the server has reached Discord's active-thread limit (160006)", async () => {
    world = await startWorld();
    const w = world;
    w.discord.failNext('POST', /^\/api\/v\d+\/channels\/\d+\/messages\/\d+\/threads$/, {
      status: 400,
      body: { code: 160006, message: 'Maximum number of active threads reached' },
    });
    await (await w.animate()).waitForReply();
    const result = await w.discord.waitFor(
      () => w.discord.messagesIn(w.discord.channelId).find(isResult),
      10_000,
    );
    expect(result.attachments).toHaveLength(1);
    expect(w.discord.threads).toHaveLength(0);
    expect(w.logs.some((l) => l.includes('could not start a thread; using the channel'))).toBe(true);
  });

  it('posts inside the thread when the command was used in a thread', async () => {
    world = await startWorld();
    const w = world;
    await (await w.animate()).waitForReply();
    const thread = await w.discord.waitFor(() => w.discord.threads[0]);
    await w.discord.waitFor(() => w.discord.messagesIn(thread.id).find(isResult), 10_000);

    await (await w.animate({ channelId: thread.id, prompt: 'again, inside' })).waitForReply();
    await w.discord.waitFor(() => w.discord.messagesIn(thread.id).filter(isResult).length === 2, 10_000);
    expect(w.discord.threads).toHaveLength(1);
  });

  it('works in a DM: status and result in the DM channel', async () => {
    world = await startWorld();
    const w = world;
    const interaction = await w.animate({ inDm: true });
    await interaction.waitForReply();
    const result = await w.discord.waitFor(
      () => w.discord.messagesIn(interaction.channelId).find(isResult),
      10_000,
    );
    expect(result.attachments).toHaveLength(1);
    expect(w.discord.threads).toHaveLength(0);
  });

  it('reruns on 🔁 in a DM too', async () => {
    world = await startWorld();
    const w = world;
    const interaction = await w.animate({ inDm: true });
    await interaction.waitForReply();
    const dm = interaction.channelId;
    const result = await w.discord.waitFor(() => w.discord.messagesIn(dm).find(isResult), 10_000);
    w.discord.react({ user: w.member, channelId: dm, messageId: result.id, emoji: '🔁' });
    await w.discord.waitFor(() => w.discord.messagesIn(dm).filter(isResult).length === 2, 10_000);
    expect(w.wavespeed.submissions).toHaveLength(2);
  });

  it('posts the link instead of the file when the video exceeds the upload limit', async () => {
    world = await startWorld();
    const w = world;
    // The fake's video is a few hundred bytes; a limit below that forces the link path.
    await (await w.animate({ attachmentSizeLimit: 16 })).waitForReply();
    const thread = await w.discord.waitFor(() => w.discord.threads[0]);
    const result = await w.discord.waitFor(() => w.discord.messagesIn(thread.id).find(isResult), 10_000);
    expect(result.attachments).toHaveLength(0);
    expect(result.content).toContain(`${w.wavespeed.baseUrl}/files/`);
  });

  it('keeps every message and the thread name inside Discord limits with a 2,000-character prompt', async () => {
    world = await startWorld();
    const w = world;
    const prompt = `${'🐈 walks\n'.repeat(150)}${'x'.repeat(2000)}`.slice(0, 2000);
    await (await w.animate({ prompt })).waitForReply();
    const thread = await w.discord.waitFor(() => w.discord.threads[0]);
    await w.discord.waitFor(() => w.discord.messagesIn(thread.id).find(isResult), 10_000);
    expect([...thread.name].length).toBeLessThanOrEqual(100);
    const rejected = w.discord.requests.filter((r) => (r.status ?? 200) >= 400);
    expect(rejected).toEqual([]);
    for (const m of [...w.discord.messagesIn(w.discord.channelId), ...w.discord.messagesIn(thread.id)]) {
      expect(m.content.length).toBeLessThanOrEqual(2000);
    }
  });
});
