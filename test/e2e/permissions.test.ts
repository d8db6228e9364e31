// Where the bot cannot post, /animate is refused before anything is charged, naming what is
// missing; where it can post but not attach, the result goes as its link.
import { afterEach, describe, expect, it } from 'vitest';
import { closeChecked, creditsOf, startWorld, type World } from './harness.js';

let world: World | undefined;
afterEach(async () => {
  await closeChecked(world);
  world = undefined;
});

const isResult = (m: { content: string }) => m.content.includes('your video is ready');

describe('/animate where the bot cannot post', () => {
  it.each([
    ['ViewChannel', 'View Channel'],
    ['SendMessages', 'Send Messages'],
  ] as const)('refuses when %s is missing, naming it, and charges nothing', async (bit, name) => {
    world = await startWorld();
    const w = world;
    const channel = w.discord.addChannel({ name: 'read-only' });
    w.discord.denyPermissions(channel.id, [bit]);
    const reply = await (await w.animate({ channelId: channel.id })).waitForReply();
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toContain(`**${name}**`);
    expect(w.wavespeed.submissions).toHaveLength(0);
    expect(w.discord.messagesIn(channel.id)).toHaveLength(0);
    expect(await creditsOf(w)).toBe(100);
  });

  it('refuses in a thread where it may not send messages in threads', async () => {
    world = await startWorld();
    const w = world;
    await (await w.animate()).waitForReply();
    const thread = await w.discord.waitFor(() => w.discord.threads[0]);
    await w.discord.waitFor(() => w.discord.messagesIn(thread.id).find(isResult), 10_000);
    w.discord.denyPermissions(w.discord.channelId, ['SendMessagesInThreads']);
    const reply = await (await w.animate({ channelId: thread.id })).waitForReply();
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toContain('**Send Messages in Threads**');
    expect(w.wavespeed.submissions).toHaveLength(1);
  });

  it('refuses a user-installed use in a server the bot is not in', async () => {
    world = await startWorld();
    const w = world;
    const attachment = w.discord.addAttachment({ filename: 'cat.png', bytes: Buffer.from('x') });
    const interaction = await w.discord.sendCommand({
      name: 'animate',
      user: w.member,
      userInstall: true,
      attachments: [attachment],
      options: [
        { name: 'image', type: 11, value: attachment.id },
        { name: 'prompt', type: 3, value: 'a cat' },
      ],
    });
    const reply = await interaction.waitForReply();
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toContain('servers I have been added to');
    expect(w.wavespeed.submissions).toHaveLength(0);
  });

  it('accepts without Attach Files and posts the result as its link', async () => {
    world = await startWorld();
    const w = world;
    const channel = w.discord.addChannel({ name: 'no-files' });
    w.discord.denyPermissions(channel.id, ['AttachFiles']);
    const reply = await (await w.animate({ channelId: channel.id })).waitForReply();
    expect(reply.content).toContain('20 credits reserved');
    const thread = await w.discord.waitFor(() => w.discord.threads[0]);
    const result = await w.discord.waitFor(() => w.discord.messagesIn(thread.id).find(isResult), 10_000);
    expect(result.attachments).toHaveLength(0);
    expect(result.content).toContain(`${w.wavespeed.baseUrl}/files/`);
    const refused = w.discord.requests.filter((r) => r.status === 403);
    expect(refused).toEqual([]);
  });
});
