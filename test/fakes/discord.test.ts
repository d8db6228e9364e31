// Self-test of the fake Discord: a real, unmodified discord.js Client logs in against it and does
// what the bot does (slash command with attachment, threads, uploads, reactions), so the fake is
// known to speak the protocol discord.js expects.
import { inflateSync } from 'node:zlib';
import {
  ApplicationIntegrationType,
  ChannelType,
  type ChatInputCommandInteraction,
  Client,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  type Interaction,
  type MessageReaction,
  MessageFlags,
  Partials,
  type PartialMessageReaction,
  type TextChannel,
} from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type FakeDiscord, startFakeDiscord } from './discord/index.js';

let discord: FakeDiscord | undefined;
let client: Client | undefined;

afterEach(async () => {
  await client?.destroy();
  await discord?.close();
  client = undefined;
  discord = undefined;
});

async function start(options: Parameters<typeof startFakeDiscord>[0] = {}): Promise<FakeDiscord> {
  discord = await startFakeDiscord(options);
  return discord;
}

const BOT_INTENTS = [
  GatewayIntentBits.Guilds,
  GatewayIntentBits.GuildMessages,
  GatewayIntentBits.GuildMessageReactions,
];

async function login(fake: FakeDiscord, intents = BOT_INTENTS, token = fake.botToken): Promise<Client<true>> {
  const c = new Client({
    intents,
    partials: [Partials.Message, Partials.Reaction, Partials.User],
    allowedMentions: { parse: [] },
    rest: { api: fake.apiBase, cdn: fake.cdnBase },
  });
  client = c;
  const ready = new Promise<Client<true>>((resolve) => c.once(Events.ClientReady, resolve));
  await c.login(token);
  return ready;
}

function textChannel(c: Client<true>, id: string): TextChannel {
  const channel = c.channels.cache.get(id);
  if (channel?.type !== ChannelType.GuildText) throw new Error(`channel ${id} is not a cached text channel`);
  return channel;
}

/** Raw gateway client for protocol details discord.js cannot be made to exercise (zlib, bad IDENTIFY). */
function rawGateway(
  fake: FakeDiscord,
  query: string,
): { ws: WebSocket; frames: Record<string, unknown>[]; closed: Promise<number> } {
  const ws = new WebSocket(`${fake.apiBase.replace(/^http/, 'ws').replace(/\/api$/, '')}/gateway?${query}`);
  const frames: Record<string, unknown>[] = [];
  const parse = (text: string): Record<string, unknown> => {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? { ...value } : {};
  };
  let compressed = Buffer.alloc(0);
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary) {
      frames.push(parse(data.toString('utf8')));
      return;
    }
    // zlib-stream: frames end with the Z_SYNC_FLUSH suffix; inflate everything received so far.
    compressed = Buffer.concat([compressed, data]);
    const text = inflateSync(compressed, { finishFlush: 2 }).toString('utf8');
    frames.length = 0;
    for (const line of text.split(/(?<=\})(?=\{"op")/)) frames.push(parse(line));
  });
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  return { ws, frames, closed };
}

describe('fake Discord with a real discord.js client', () => {
  it('logs in: /gateway/bot, READY, GUILD_CREATE, heartbeats acknowledged', async () => {
    const fake = await start({ heartbeatIntervalMs: 50 });
    const c = await login(fake);
    expect(c.user.id).toBe(fake.botUser.id);
    expect(c.application.id).toBe(fake.applicationId);
    expect(c.guilds.cache.get(fake.guildId)?.channels.cache.has(fake.channelId)).toBe(true);
    expect(fake.requests[0]).toMatchObject({ method: 'GET', path: '/api/v10/gateway/bot' });
    expect(fake.requests[0]?.headers.authorization).toBe(`Bot ${fake.botToken}`);
    expect(fake.dispatched.map((e) => e.t).slice(0, 2)).toEqual(['READY', 'GUILD_CREATE']);
    // The ping is only measured from an ACK; without ACKs the client would resume as a zombie.
    await fake.waitFor(() => c.ws.ping >= 0, 2000);
    expect(fake.dispatched.some((e) => e.t === 'RESUMED')).toBe(false);
    expect(fake.unknownRoutes).toEqual([]);
  });

  it('slash command with an attachment: ephemeral defer, CDN download, editReply', async () => {
    const fake = await start();
    const c = await login(fake);
    const downloads: Buffer[] = [];
    const errors: unknown[] = [];
    const handle = async (i: ChatInputCommandInteraction): Promise<void> => {
      await i.deferReply({ flags: MessageFlags.Ephemeral });
      const file = i.options.getAttachment('image', true);
      const res = await fetch(file.url);
      downloads.push(Buffer.from(await res.arrayBuffer()));
      await i.editReply(`got ${file.name} (${i.attachmentSizeLimit})`);
    };
    c.on(Events.InteractionCreate, (i) => {
      if (i.isChatInputCommand()) handle(i).catch((e: unknown) => errors.push(e));
    });

    const user = fake.addUser({ username: 'alice' });
    const bytes = Buffer.from('\x89PNG fake image');
    const attachment = fake.addAttachment({ filename: 'cat.png', bytes, contentType: 'image/png' });
    expect(attachment.url).toMatch(
      /\/cdn\/attachments\/\d+\/\d+\/cat\.png\?ex=[0-9a-f]+&is=[0-9a-f]+&hm=[0-9a-f]+&$/,
    );
    const interaction = await fake.sendCommand({
      name: 'animate',
      user,
      options: [{ name: 'image', type: 11, value: attachment.id }],
      attachments: [attachment],
    });

    const reply = await interaction.waitForReply();
    expect(errors).toEqual([]);
    expect(reply).toEqual({ content: 'got cat.png (10485760)', flags: 64, embeds: [], ephemeral: true });
    expect(interaction.callbacks[0]).toMatchObject({ type: 5, data: { flags: 64 } });
    expect(downloads[0]?.equals(bytes)).toBe(true);
    const callback = fake.requests.find((r) => r.path.endsWith('/callback'));
    expect(callback?.headers.authorization).toBeUndefined();
    expect(fake.requests.some((r) => r.method === 'PATCH' && r.path.endsWith('/messages/@original'))).toBe(
      true,
    );
    // Ephemeral replies never reach the channel.
    expect(fake.messagesIn(fake.channelId)).toEqual([]);

    // The state machine: a second callback is refused; expired tokens answer 50027.
    const again = await fetch(
      `${fake.apiBase}/v10/interactions/${interaction.id}/${interaction.token}/callback`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 4, data: { content: 'twice' } }),
      },
    );
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ code: 40060 });
    fake.expireInteractionTokens();
    fake.expireAttachment(attachment.id);
    expect((await fetch(attachment.url)).status).toBe(404);
    const expired = await fetch(
      `${fake.apiBase}/v10/webhooks/${fake.applicationId}/${interaction.token}/messages/%40original`,
    );
    expect(expired.status).toBe(401);
    expect(await expired.json()).toEqual({ code: 50027, message: 'Invalid Webhook Token' });
    expect(fake.unknownRoutes).toEqual([]);
  });

  it('channel.send, startThread, and an upload into the thread', async () => {
    const fake = await start();
    const c = await login(fake);
    const channel = textChannel(c, fake.channelId);
    const status = await channel.send('working on it');
    const thread = await status.startThread({ name: 'job 1' });
    expect(thread.id).toBe(status.id);
    expect(fake.threads[0]).toMatchObject({
      id: status.id,
      parentId: fake.channelId,
      starterMessageId: status.id,
    });

    const video = Buffer.from('\x00\x00\x00\x18ftypmp42 fake video bytes');
    const out = await thread.send({ content: 'done', files: [{ attachment: video, name: 'video.mp4' }] });
    const stored = fake.messagesIn(thread.id)[0];
    expect(stored?.attachments[0]?.bytes.equals(video)).toBe(true);
    expect(stored?.attachments[0]?.content_type).toBe('video/mp4');
    const url = out.attachments.first()?.url ?? '';
    expect(Buffer.from(await (await fetch(url)).arrayBuffer()).equals(video)).toBe(true);
    // The bot sees its own messages, as on Discord.
    await fake.waitFor(() => fake.dispatched.find((e) => e.t === 'MESSAGE_CREATE' && e.d.id === out.id));

    await expect(status.startThread({ name: 'again' })).rejects.toMatchObject({ code: 160004 });
    await expect(status.startThread({ name: '' })).rejects.toMatchObject({ code: 50035 });
    expect(fake.unknownRoutes).toEqual([]);
  });

  it.each([
    ['forum', 15, ChannelType.GuildForum],
    ['media', 16, ChannelType.GuildMedia],
  ] as const)(
    'a %s channel takes posts, not messages: a post carries its starter message, a tag when required',
    async (_name, type, clientType) => {
      const fake = await start();
      const c = await login(fake);
      const forum = fake.addChannel({ name: 'gallery', type });
      const cached = await fake.waitFor(() => c.channels.cache.get(forum.id));
      expect(cached.type).toBe(clientType);
      if (!cached.isThreadOnly()) throw new Error('not a thread-only channel');
      expect(cached.isSendable()).toBe(false);
      await expect(
        c.rest.post(`/channels/${forum.id}/messages`, { body: { content: 'x' } }),
      ).rejects.toMatchObject({ status: 400, code: 50008 });
      // A post needs its starter message (the spec's CreateForumThreadRequest requires `message`).
      await expect(
        c.rest.post(`/channels/${forum.id}/threads`, { body: { name: 'no message' } }),
      ).rejects.toMatchObject({ status: 400, code: 50035 });

      const video = Buffer.from('\x00\x00\x00\x18ftypmp42 fake video bytes');
      const post = await cached.threads.create({
        name: 'a post',
        message: { content: 'the starter', files: [{ attachment: video, name: 'v.mp4' }] },
      });
      expect(post.parentId).toBe(forum.id);
      expect(post.type).toBe(ChannelType.PublicThread);
      expect(fake.threads.at(-1)).toMatchObject({
        id: post.id,
        parentId: forum.id,
        starterMessageId: post.id,
      });
      const starter = fake.messagesIn(post.id)[0];
      expect(starter).toMatchObject({ id: post.id, content: 'the starter' });
      expect(starter?.attachments[0]?.bytes.equals(video)).toBe(true);
      expect((await post.messages.fetch(post.id)).content).toBe('the starter');
      await post.send('inside the post');
      expect(fake.messagesIn(post.id).map((m) => m.content)).toEqual(['the starter', 'inside the post']);
      await expect(
        c.rest.post(`/channels/${forum.id}/messages/${post.id}/threads`, { body: { name: 'x' } }),
      ).rejects.toMatchObject({ status: 400, code: 50024 });

      const tagged = fake.addChannel({ name: 'tagged', type, requireTag: true });
      const withTags = await fake.waitFor(() => c.channels.cache.get(tagged.id));
      if (!withTags.isThreadOnly()) throw new Error('not a thread-only channel');
      expect(withTags.flags.has('RequireTag')).toBe(true);
      await expect(
        withTags.threads.create({ name: 'untagged', message: { content: 'x' } }),
      ).rejects.toMatchObject({ status: 400, code: 40067 });
      const tag = withTags.availableTags[0]?.id ?? '';
      const ok = await withTags.threads.create({
        name: 'tagged',
        message: { content: 'x' },
        appliedTags: [tag],
      });
      expect(ok.appliedTags).toEqual([tag]);

      // Create Posts is Send Messages in a forum; Create Public Threads does not matter there.
      fake.denyPermissions(forum.id, ['CreatePublicThreads']);
      await cached.threads.create({ name: 'still fine', message: { content: 'x' } });
      fake.denyPermissions(forum.id, ['SendMessages']);
      await expect(
        cached.threads.create({ name: 'refused', message: { content: 'x' } }),
      ).rejects.toMatchObject({ status: 403, code: 50013 });
      expect(fake.unknownRoutes).toEqual([]);
    },
  );

  it('delivers a reaction on an uncached message as a partial reaction, and drops it without the intent', async () => {
    const fake = await start();
    const user = fake.addUser({ username: 'bob' });
    const old = fake.addMessage({ author: fake.botUser, content: 'result from before a restart' });
    const c = await login(fake);
    const seen = new Promise<{ partial: boolean; userId: string; emoji: string | null }>((resolve) => {
      c.on(Events.MessageReactionAdd, (reaction: MessageReaction | PartialMessageReaction, u) =>
        resolve({ partial: reaction.partial, userId: u.id, emoji: reaction.emoji.name }),
      );
    });
    fake.react({ user, messageId: old.id, emoji: '👍' });
    expect(await seen).toEqual({ partial: true, userId: user.id, emoji: '👍' });
    expect(fake.dispatched.at(-1)?.d).toMatchObject({
      message_author_id: fake.botUser.id,
      burst: false,
      type: 0,
    });

    await c.destroy();
    const noReactions = await login(fake, [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages]);
    expect(noReactions.isReady()).toBe(true);
    fake.react({ user, messageId: old.id, emoji: '🎉' });
    expect(fake.dropped.at(-1)).toMatchObject({
      t: 'MESSAGE_REACTION_ADD',
      reason: 'missing intent GuildMessageReactions',
    });
  });

  it('rejects content over 2000 characters and dedupes enforce_nonce', async () => {
    const fake = await start();
    const c = await login(fake);
    const channel = textChannel(c, fake.channelId);
    const tooLong = channel.send('x'.repeat(2001));
    await expect(tooLong).rejects.toBeInstanceOf(DiscordAPIError);
    await expect(tooLong).rejects.toMatchObject({ status: 400, code: 50035 });

    const first = await channel.send({ content: 'once', nonce: 'job-42', enforceNonce: true });
    const second = await channel.send({ content: 'once', nonce: 'job-42', enforceNonce: true });
    expect(second.id).toBe(first.id);
    expect(fake.messagesIn(fake.channelId).map((m) => m.content)).toEqual(['once']);
    expect(fake.messagesIn(fake.channelId)[0]?.allowed_mentions).toEqual({ parse: [] });
  });

  it('answers like Discord for embeds, uploads, permissions, DMs, unknown channels and injected faults', async () => {
    const fake = await start({ uploadLimitBytes: 1024 });
    const c = await login(fake);
    const channel = textChannel(c, fake.channelId);
    await expect(channel.send({ embeds: [{ description: 'd'.repeat(4097) }] })).rejects.toMatchObject({
      code: 50035,
    });
    await expect(
      channel.send({ files: [{ attachment: Buffer.alloc(1025), name: 'big.bin' }] }),
    ).rejects.toMatchObject({
      status: 413,
      code: 40005,
    });

    const locked = fake.addChannel({ name: 'no-threads', allowThreads: false });
    await fake.waitFor(() => c.channels.cache.get(locked.id));
    const inLocked = await textChannel(c, locked.id).send('hi');
    await expect(inLocked.startThread({ name: 't' })).rejects.toMatchObject({ status: 403, code: 50013 });
    const thread = await (await channel.send('parent')).startThread({ name: 'thread' });
    const inThread = await thread.send('inside');
    await expect(
      c.rest.post(`/channels/${thread.id}/messages/${inThread.id}/threads`, { body: { name: 'x' } }),
    ).rejects.toMatchObject({
      code: 50024,
    });

    const carol = fake.addUser({ username: 'carol' });
    fake.blockDms(carol.id);
    const user = await c.users.fetch(carol.id);
    await expect(user.send('hello')).rejects.toMatchObject({ status: 403, code: 50007 });
    await expect(c.rest.post('/channels/1/messages', { body: { content: 'x' } })).rejects.toMatchObject({
      code: 10003,
    });

    fake.failNext('POST', /\/channels\/\d+\/messages$/, { status: 429, retryAfter: 0.05 });
    const retried = await channel.send('after a 429');
    expect(fake.messagesIn(fake.channelId).at(-1)?.id).toBe(retried.id);
    expect(fake.unknownRoutes).toEqual([]);
  });

  it('registers commands, replies in channel, follows up, reacts and lists history newest first', async () => {
    const fake = await start();
    const c = await login(fake);
    await c.application.commands.set([{ name: 'animate', description: 'Animate a picture' }]);
    expect(fake.commands).toMatchObject([{ name: 'animate', application_id: fake.applicationId }]);
    c.on(Events.InteractionCreate, (i) => {
      if (!i.isChatInputCommand()) return;
      const flow = async (): Promise<void> => {
        const reply = await i.reply({ content: 'queued', withResponse: true });
        await reply.resource?.message?.react('⏳');
        await i.followUp({ content: 'private note', flags: MessageFlags.Ephemeral });
      };
      flow().catch(() => undefined);
    });
    const interaction = await fake.sendCommand({ name: 'animate', user: fake.addUser() });
    expect(await interaction.waitForReply()).toMatchObject({ content: 'queued', ephemeral: false });
    await fake.waitFor(() => interaction.followups.length === 1);
    const original = interaction.original();
    expect(original?.type).toBe(20);
    await fake.waitFor(() => original?.reactions[0]?.userIds.includes(fake.botUser.id));
    expect(
      fake.dispatched.some((e) => e.t === 'MESSAGE_REACTION_ADD' && e.d.user_id === fake.botUser.id),
    ).toBe(true);
    expect(fake.messagesIn(fake.channelId).map((m) => m.content)).toEqual(['queued']);

    const channel = textChannel(c, fake.channelId);
    for (const n of [1, 2, 3]) await channel.send(`n${n}`);
    const page = await channel.messages.fetch({ limit: 2, cache: false });
    expect([...page.values()].map((m) => m.content)).toEqual(['n3', 'n2']);
    expect(fake.unknownRoutes).toEqual([]);
  });

  it('denies sends per channel, deletes and locks threads, and puts app_permissions on interactions', async () => {
    const fake = await start();
    const c = await login(fake);
    const channel = textChannel(c, fake.channelId);
    const thread = await (await channel.send('parent')).startThread({ name: 'thread' });
    const seen: ChatInputCommandInteraction[] = [];
    c.on(Events.InteractionCreate, (i) => {
      if (i.isChatInputCommand()) seen.push(i);
    });
    const user = fake.addUser();

    fake.denyPermissions(fake.channelId, ['AttachFiles']);
    await fake.waitFor(() => channel.permissionsFor(c.user)?.has('AttachFiles') === false);
    await expect(
      channel.send({ files: [{ attachment: Buffer.from('x'), name: 'a.bin' }] }),
    ).rejects.toMatchObject({ status: 403, code: 50013 });
    await channel.send('text still goes');
    await fake.sendCommand({ name: 'animate', user });
    const first = await fake.waitFor(() => seen[0]);
    expect(first.appPermissions.has('AttachFiles')).toBe(false);
    expect(first.appPermissions.has('SendMessages')).toBe(true);

    fake.denyPermissions(fake.channelId, ['SendMessagesInThreads']);
    await expect(thread.send('in thread')).rejects.toMatchObject({ status: 403, code: 50013 });
    fake.denyPermissions(fake.channelId, ['SendMessages']);
    await expect(channel.send('no')).rejects.toMatchObject({ status: 403, code: 50013 });
    await fake.sendCommand({ name: 'animate', user, channelId: thread.id, appPermissions: 1n << 10n });
    const second = await fake.waitFor(() => seen[1]);
    expect(second.appPermissions.bitfield).toBe(1n << 10n);

    const other = fake.addChannel({ name: 'other' });
    await fake.waitFor(() => c.channels.cache.get(other.id));
    const t2 = await (await textChannel(c, other.id).send('p2')).startThread({ name: 't2' });
    fake.lockThread(t2.id);
    await expect(t2.send('locked')).rejects.toMatchObject({ status: 400, code: 50083 });
    const t3 = await (await textChannel(c, other.id).send('p3')).startThread({ name: 't3' });
    fake.deleteChannel(t3.id);
    await fake.waitFor(() => !c.channels.cache.has(t3.id));
    await expect(
      c.rest.post(`/channels/${t3.id}/messages`, { body: { content: 'x' } }),
    ).rejects.toMatchObject({ status: 404, code: 10003 });
    fake.denyPermissions(other.id, ['ViewChannel']);
    await expect(textChannel(c, other.id).messages.fetch({ limit: 1 })).rejects.toMatchObject({
      status: 403,
      code: 50001,
    });
    expect(fake.unknownRoutes).toEqual([]);
  });

  it('sends user-install interactions from a server the bot is not in, and buttons and modals', async () => {
    const fake = await start();
    const c = await login(fake);
    const seen: Interaction[] = [];
    c.on(Events.InteractionCreate, (i) => {
      seen.push(i);
      if (i.isRepliable()) i.reply({ content: 'ok', flags: MessageFlags.Ephemeral }).catch(() => undefined);
    });
    const user = fake.addUser();
    const viaUser = await fake.sendCommand({ name: 'animate', user, userInstall: true });
    const command = await fake.waitFor(() => seen[0]);
    expect(command.guildId).not.toBe(fake.guildId);
    expect(command.guild).toBeNull();
    expect(command.authorizingIntegrationOwners[ApplicationIntegrationType.GuildInstall]).toBeUndefined();
    expect(command.authorizingIntegrationOwners[ApplicationIntegrationType.UserInstall]).toBe(user.id);
    expect(await viaUser.waitForReply()).toMatchObject({ content: 'ok', ephemeral: true });

    const onMessage = await textChannel(c, fake.channelId).send('with a button');
    const press = await fake.pressButton({ user, customId: 'gone:123', messageId: onMessage.id });
    const button = await fake.waitFor(() => seen[1]);
    expect(button.isButton() && button.customId).toBe('gone:123');
    expect(button.isButton() && button.message.id).toBe(onMessage.id);
    expect(await press.waitForReply()).toMatchObject({ content: 'ok' });

    const submit = await fake.submitModal({ user, customId: 'edit:1', fields: { prompt: 'new words' } });
    const modal = await fake.waitFor(() => seen[2]);
    expect(modal.isModalSubmit() && modal.fields.getTextInputValue('prompt')).toBe('new words');
    expect(await submit.waitForReply()).toMatchObject({ content: 'ok' });
  });

  it('pages history like Discord: before newest first, after from the anchor up', async () => {
    const fake = await start();
    const c = await login(fake);
    const channel = textChannel(c, fake.channelId);
    const sent = [];
    for (let n = 0; n < 7; n++) sent.push(await channel.send(`m${n}`));
    const contents = (page: Map<string, { content: string }>) => [...page.values()].map((m) => m.content);
    const anchor = sent[2]?.id ?? '';
    expect(contents(await channel.messages.fetch({ after: anchor, limit: 3, cache: false }))).toEqual([
      'm5',
      'm4',
      'm3',
    ]);
    expect(contents(await channel.messages.fetch({ before: anchor, limit: 5, cache: false }))).toEqual([
      'm1',
      'm0',
    ]);
    expect(contents(await channel.messages.fetch({ limit: 2, cache: false }))).toEqual(['m6', 'm5']);
  });

  it('rejects login with a bad token', async () => {
    const fake = await start();
    await expect(login(fake, BOT_INTENTS, 'wrong')).rejects.toMatchObject({ code: 'TokenInvalid' });
    expect(fake.requests[0]?.status).toBe(401);
  });

  it('gateway protocol: zlib-stream frames and close 4004 on a bad IDENTIFY', async () => {
    const fake = await start({ heartbeatIntervalMs: 1234 });
    const zlib = rawGateway(fake, 'v=10&encoding=json&compress=zlib-stream');
    await fake.waitFor(() => zlib.frames.length > 0);
    expect(zlib.frames[0]).toMatchObject({ op: 10, d: { heartbeat_interval: 1234 } });
    zlib.ws.send(JSON.stringify({ op: 1, d: null }));
    await fake.waitFor(() => zlib.frames.some((f) => f.op === 11));
    zlib.ws.close();

    const bad = rawGateway(fake, 'v=10&encoding=json');
    await fake.waitFor(() => bad.frames.length > 0);
    bad.ws.send(JSON.stringify({ op: 2, d: { token: 'wrong', intents: 1, properties: {} } }));
    expect(await bad.closed).toBe(4004);
  });
});
