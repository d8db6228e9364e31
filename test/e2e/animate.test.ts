// The whole /animate path through the real bot and real discord.js, against fakes on loopback.
import { afterEach, describe, expect, it } from 'vitest';
import {
  PNG,
  startWorld,
  WS_KEY,
  type World,
  closeChecked,
  threadMessages,
  resultMessage,
  creditsOf,
  results,
} from './harness.js';

let world: World | undefined;
afterEach(async () => {
  await closeChecked(world);
  world = undefined;
});

describe('/animate end to end', () => {
  it('defers at once, submits once with the key, and posts the mp4 bytes into a thread', async () => {
    world = await startWorld();
    const w = world;
    const interaction = await w.animate({ prompt: 'the cat slowly blinks' });
    const reply = await interaction.waitForReply();

    const first = interaction.callbacks[0];
    expect(first?.type).toBe(5);
    expect(first && first.at - interaction.receivedAt).toBeLessThan(3000);
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toContain('20 credits reserved');

    const result = await resultMessage(w);
    expect(result.attachments).toHaveLength(1);
    expect(result.attachments[0]?.filename).toMatch(/\.mp4$/);
    const task = [...w.wavespeed.tasks.values()][0];
    expect(task && result.attachments[0]?.bytes.equals(task.videoBytes)).toBe(true);

    expect(w.wavespeed.submissions).toHaveLength(1);
    const submit = w.wavespeed.submissions[0];
    expect(submit?.endpoint).toBe('luma/ray-2-flash-i2v');
    expect(submit?.headers.authorization).toBe(`Bearer ${WS_KEY}`);
    expect(submit?.body).toEqual({
      image: w.wavespeed.uploads[0]?.url,
      prompt: 'the cat slowly blinks',
      size: '1280*720',
      duration: 5,
    });
    expect(w.wavespeed.uploads[0]?.bytes.equals(PNG)).toBe(true);

    // Status, thread and result went out with the bot token, never the interaction token.
    const thread = w.discord.threads[0];
    expect(thread?.parentId).toBe(w.discord.channelId);
    const status = w.discord.messagesIn(w.discord.channelId).find((m) => m.id === thread?.starterMessageId);
    expect(status?.author.id).toBe(w.discord.botUser.id);
    const posts = w.discord.requests.filter((r) => r.method === 'POST' && r.path.includes('/channels/'));
    expect(posts.length).toBeGreaterThan(0);
    for (const post of posts) expect(post.headers.authorization).toBe(`Bot ${w.discord.botToken}`);

    await w.discord.waitFor(
      () =>
        status &&
        w.discord
          .messagesIn(w.discord.channelId)
          .find((m) => m.id === status.id)
          ?.embeds.some((e) => JSON.stringify(e).includes('Done')),
    );
    expect(await creditsOf(w)).toBe(80);
  });

  it('notices a fast provider within seconds on the catalogue schedule (the early look)', async () => {
    // No EXPECTED_RUN_MS: the bot plans for a 59 s Flash run, the fake finishes in ~250 ms.
    world = await startWorld({ EXPECTED_RUN_MS: '' });
    const w = world;
    const interaction = await w.animate();
    await interaction.waitForReply();
    const result = await w.discord.waitFor(() => results(w)[0], 8_000);
    expect(result.createdAt - interaction.receivedAt).toBeLessThan(6_000);
    expect(w.wavespeed.polls).toHaveLength(1);
  });

  it('submits the Discord URL itself when the provider has no media upload', async () => {
    world = await startWorld({}, { wavespeed: { uploads: false } });
    const w = world;
    const interaction = await w.animate();
    await interaction.waitForReply();
    await resultMessage(w);
    expect(w.wavespeed.uploads).toHaveLength(0);
    const attachmentUrl = Object.values(
      (
        w.discord.dispatched.find((e) => e.t === 'INTERACTION_CREATE')?.d as {
          data: { resolved: { attachments: Record<string, { url: string }> } };
        }
      ).data.resolved.attachments,
    )[0]?.url;
    expect((w.wavespeed.submissions[0]?.body as { image?: string }).image).toBe(attachmentUrl);
    expect(await creditsOf(w)).toBe(80);
  });

  it('refuses a member without enough credits, privately, and charges nothing', async () => {
    world = await startWorld({ STARTING_CREDITS: '10' });
    const reply = await (await world.animate()).waitForReply();
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toContain('costs 20 credits and you have 10');
    expect(world.wavespeed.submissions).toHaveLength(0);
    expect(await creditsOf(world)).toBe(10);
  });

  it('refuses a file that is not an image by its bytes, whatever its name', async () => {
    world = await startWorld();
    const reply = await (
      await world.animate({ image: Buffer.from('GIF89a not really'), filename: 'cat.png' })
    ).waitForReply();
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toContain('not a PNG, JPEG or WebP');
    expect(world.wavespeed.submissions).toHaveLength(0);
    expect(world.wavespeed.uploads).toHaveLength(0);
    expect(await creditsOf(world)).toBe(100);
  });

  it('refuses an attachment on a host that is not allowed, without contacting it', async () => {
    world = await startWorld({ DISCORD_CDN_HOSTS: 'cdn.discordapp.com' });
    const reply = await (await world.animate()).waitForReply();
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toContain('not hosted on Discord');
    expect(world.discord.requests.filter((r) => r.path.startsWith('/cdn/'))).toHaveLength(0);
    expect(world.wavespeed.submissions).toHaveLength(0);
  });

  it('refuses a model whose provider is not configured', async () => {
    world = await startWorld({ FAL_KEY: '' });
    const interaction = await world.animate({
      options: [{ name: 'model', type: 3, value: 'fal/ray-2-flash' }],
    });
    const reply = await interaction.waitForReply();
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toContain('fal/ray-2-flash is not available');
    expect(world.fal.submissions).toHaveLength(0);
    expect(world.wavespeed.submissions).toHaveLength(0);
  });

  it('refunds in full and tells the member in the thread when the provider fails the task', async () => {
    world = await startWorld();
    const w = world;
    w.wavespeed.nextOutcome({
      status: 'failed',
      code: 1402,
      error: 'Failed to download image from the provided URL.',
    });
    await (await w.animate()).waitForReply();
    const notice = await w.discord.waitFor(
      () => threadMessages(w).find((m) => m.content.includes('refunded')),
      10_000,
    );
    expect(notice.content).toContain(`<@${w.member.id}>`);
    expect(notice.content).toContain('20 credits were refunded');
    expect(notice.content).not.toContain('Failed to download image');
    expect(await creditsOf(w)).toBe(100);
    const logged = w.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged.some((l) => l.msg === 'provider failure')).toBe(true);
  });

  it('never lets a prompt ping anyone: every message restricts allowed mentions', async () => {
    world = await startWorld();
    const w = world;
    const other = w.discord.addUser({ username: 'bystander' });
    await (
      await w.animate({ prompt: `@everyone @here <@&${w.discord.guildId}> <@${other.id}> look` })
    ).waitForReply();
    await resultMessage(w);
    const sends = w.discord.requests.filter(
      (r) =>
        (r.method === 'POST' || r.method === 'PATCH') &&
        /\/(channels\/\d+\/messages(\/\d+)?|webhooks\/\d+\/[^/]+(\/messages\/.+)?)$/.test(r.path) &&
        r.json,
    );
    expect(sends.length).toBeGreaterThanOrEqual(3);
    for (const send of sends) {
      const allowed = (
        send.json as { allowed_mentions?: { parse?: string[]; users?: string[]; roles?: string[] } }
      ).allowed_mentions;
      expect(allowed, `${send.method} ${send.path}`).toBeDefined();
      expect(allowed?.parse ?? []).toEqual([]);
      expect(allowed?.roles ?? []).toEqual([]);
      for (const user of allowed?.users ?? []) expect(user).toBe(w.member.id);
    }
  });

  it('reruns a result on 🔁, charged to whoever reacted', async () => {
    world = await startWorld();
    const w = world;
    await (await w.animate()).waitForReply();
    const result = await resultMessage(w);
    const reactor = w.discord.addUser({ username: 'reactor' });
    w.discord.react({ user: reactor, channelId: result.channel_id, messageId: result.id, emoji: '🔁' });

    await w.discord.waitFor(
      () => threadMessages(w).filter((m) => m.content.includes('your video is ready')).length === 2,
      10_000,
    );
    expect(w.wavespeed.submissions).toHaveLength(2);
    expect(w.wavespeed.submissions[1]?.body).toEqual(w.wavespeed.submissions[0]?.body);
    const rerun = threadMessages(w).filter((m) => m.content.includes('your video is ready'))[1];
    expect(rerun?.content).toContain(`<@${reactor.id}>`);
    expect(await creditsOf(w, reactor)).toBe(80);
    expect(await creditsOf(w)).toBe(80);
  });

  it('ignores other emoji and reactions on messages that are not results', async () => {
    world = await startWorld();
    const w = world;
    await (await w.animate()).waitForReply();
    const result = await resultMessage(w);
    const status = w.discord.messagesIn(w.discord.channelId)[0];
    w.discord.react({ user: w.member, channelId: result.channel_id, messageId: result.id, emoji: '👍' });
    if (status)
      w.discord.react({ user: w.member, channelId: status.channel_id, messageId: status.id, emoji: '🔁' });
    await new Promise((r) => setTimeout(r, 500));
    expect(w.wavespeed.submissions).toHaveLength(1);
  });

  it('tells a reactor who cannot pay privately and submits nothing', async () => {
    world = await startWorld({ STARTING_CREDITS: '20' });
    const w = world;
    await (await w.animate()).waitForReply();
    const result = await resultMessage(w);
    w.discord.react({ user: w.member, channelId: result.channel_id, messageId: result.id, emoji: '🔁' });
    const dm = w.discord.dmChannelFor(w.member.id);
    const note = await w.discord.waitFor(() => w.discord.messagesIn(dm.id)[0]);
    expect(note.content).toContain('costs 20 credits and you have 0');
    expect(w.wavespeed.submissions).toHaveLength(1);
  });
});
