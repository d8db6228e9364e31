// The Delivery implementation against the fake Discord with the bot's real discord.js client:
// finding earlier posts after a restart, however busy the channel and however old the post.
import { Events } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { createDiscordClient, destroyDiscordClient } from '../../src/discord/client.js';
import { asBuffer, createDelivery } from '../../src/discord/delivery.js';
import { createLogger } from '../../src/logger.js';
import type { JobRecord } from '../../src/store/jobs.js';
import type { FakeDiscord, FakeUser } from '../fakes/discord/index.js';
import { connectedClients } from './connected.js';
import { makeJob } from '../fixtures/job.js';

const connect = connectedClients();

async function setup() {
  const { fake, client: c } = await connect();
  const member = fake.addUser({ username: 'member' });
  const delivery = createDelivery(c, createLogger({ level: 'silent' }));
  const job = (overrides: Partial<JobRecord> = {}) =>
    makeJob({
      userId: member.id,
      guildId: fake.guildId,
      channelId: fake.channelId,
      createdAt: Date.now(),
      ...overrides,
    });
  return { fake, client: c, member, delivery, job };
}

function chatter(fake: FakeDiscord, author: FakeUser, channelId: string, count: number): void {
  for (let n = 0; n < count; n++) fake.addMessage({ author, channelId, content: `message ${n}` });
}

const video = { url: 'https://example.invalid/v.mp4', spoiler: false, bytes: new Uint8Array([0, 0, 0, 24]) };

describe('findPost after a restart', () => {
  it('finds the result in its thread with 80 other messages after it', async () => {
    const { fake, member, delivery, job } = await setup();
    let j = job();
    const place = await delivery.openStatus(j);
    j = { ...j, state: 'delivering', discord: { ...j.discord, ...place } };
    const { messageId } = await delivery.postResult(j, video);
    chatter(fake, member, place.threadId, 80);
    expect(await delivery.findPost(j, 'result')).toBe(messageId);
    expect(await delivery.findPost(j, 'failure')).toBeUndefined();
  });

  it('finds a result that fell back to the channel, after the status message, in a busy channel', async () => {
    const { fake, client, member, delivery, job } = await setup();
    let j = job();
    const place = await delivery.openStatus(j);
    j = { ...j, state: 'delivering', discord: { ...j.discord, ...place } };
    fake.deleteChannel(place.threadId);
    await fake.waitFor(() => !client.channels.cache.has(place.threadId));
    chatter(fake, member, fake.channelId, 30);
    const { messageId } = await delivery.postResult(j, video);
    expect(fake.messagesIn(fake.channelId).find((m) => m.id === messageId)).toBeDefined();
    chatter(fake, member, fake.channelId, 250);
    expect(await delivery.findPost(j, 'result')).toBe(messageId);
  });
});

describe('openStatus when the status may already exist', () => {
  it('reuses a status message and thread posted long before the restart, without posting again', async () => {
    const { fake, member, delivery, job } = await setup();
    const j = job();
    const first = await delivery.openStatus(j);
    chatter(fake, member, fake.channelId, 150);
    // Long enough ago that Discord no longer honours the nonce.
    fake.forgetNonces();
    const again = await delivery.openStatus(j, { mayExist: true });
    expect(again).toEqual(first);
    const statuses = fake.messagesIn(fake.channelId).filter((m) => m.author.id === fake.botUser.id);
    expect(statuses).toHaveLength(1);
    expect(fake.threads).toHaveLength(1);
  });

  it('posts a new status message when there is none to reuse', async () => {
    const { fake, member, delivery, job } = await setup();
    chatter(fake, member, fake.channelId, 5);
    const place = await delivery.openStatus(job(), { mayExist: true });
    expect(fake.messagesIn(fake.channelId).at(-1)?.id).toBe(place.statusMessageId);
    expect(fake.threads.map((t) => t.id)).toEqual([place.threadId]);
  });
});

describe('openStatus in a forum or media channel', () => {
  it('starts a post with the status as its starter message; after a restart it finds that post again', async () => {
    const { fake, client, member, delivery, job } = await setup();
    const forum = fake.addChannel({ name: 'gallery', type: 15 });
    await fake.waitFor(() => client.channels.cache.get(forum.id));
    // Another post of ours, for another job, started first: not the one to reuse.
    const other = await delivery.openStatus(job({ channelId: forum.id }));
    const j = job({ channelId: forum.id });
    const place = await delivery.openStatus(j);
    expect(place).toEqual({
      statusChannelId: place.threadId,
      statusMessageId: place.threadId,
      threadId: place.threadId,
    });
    expect(fake.threads.find((t) => t.id === place.threadId)).toMatchObject({
      parentId: forum.id,
      starterMessageId: place.threadId,
    });
    chatter(fake, member, place.threadId, 5);

    // A restarted process: a new client, which knows the active posts from GUILD_CREATE only.
    const restarted = createDiscordClient({ apiUrl: fake.apiBase });
    try {
      const ready = new Promise((resolve) => restarted.once(Events.ClientReady, resolve));
      await restarted.login(fake.botToken);
      await ready;
      const again = await createDelivery(restarted, createLogger({ level: 'silent' })).openStatus(j, {
        mayExist: true,
      });
      expect(again).toEqual(place);
    } finally {
      await destroyDiscordClient(restarted);
    }
    expect(fake.threads.map((t) => t.id)).toEqual([other.threadId, place.threadId]);

    const fresh = await delivery.openStatus(job({ channelId: forum.id }), { mayExist: true });
    expect(fresh.threadId).not.toBe(place.threadId);
    expect(fake.threads).toHaveLength(3);
    expect(fake.rejected).toEqual([]);
  });

  it('posts results and failure notices into the post, and finds them there', async () => {
    const { fake, client, delivery, job } = await setup();
    const forum = fake.addChannel({ name: 'clips', type: 16 });
    await fake.waitFor(() => client.channels.cache.get(forum.id));
    let j = job({ channelId: forum.id });
    const place = await delivery.openStatus(j);
    j = { ...j, state: 'delivering', discord: { ...j.discord, ...place } };
    const { messageId } = await delivery.postResult(j, video);
    expect(fake.messagesIn(place.threadId).map((m) => m.id)).toEqual([place.threadId, messageId]);
    expect(await delivery.findPost(j, 'result')).toBe(messageId);
    await delivery.postFailure(j, 'It failed.');
    expect(await delivery.findPost(j, 'failure')).toBeDefined();
    // Nothing was ever sent to the media channel itself, which would refuse it (50008).
    expect(fake.requests.filter((r) => (r.status ?? 200) >= 400)).toEqual([]);
  });
});

describe('asBuffer', () => {
  it('wraps the video bytes without copying them', () => {
    const backing = new Uint8Array(64);
    const view = backing.subarray(8, 40);
    const wrapped = asBuffer(view);
    expect(wrapped.buffer).toBe(backing.buffer);
    expect(wrapped.byteOffset).toBe(8);
    expect(wrapped.byteLength).toBe(32);
    backing[8] = 7;
    expect(wrapped[0]).toBe(7);
  });
});
