// A fake Discord (REST + CDN + gateway) on 127.0.0.1 for driving a real discord.js client in tests.
// `startFakeDiscord()` is the entry point; see the FakeDiscord members for what tests can do and read.
import type { Server } from 'node:http';
import { expireAttachment, publishAttachment } from './cdn.js';
import { sendButton, sendModalSubmit, type SendComponentInput, type SendModalInput } from './components.js';
import { ChannelType, isThread, roleObject } from './guild.js';
import type { FakeInteraction } from './interaction.js';
import { buildMessage, storeMessage } from './messages.js';
import { denyOnChannel, Permission, type PermissionName } from './permissions.js';
import { addReaction, parseEmoji } from './routes/reactions.js';
import { createThread } from './routes/threads.js';
import { startServer } from './server.js';
import { sendCommand, type SendCommandInput } from './slash.js';
import type {
  DispatchedEvent,
  DroppedEvent,
  FakeAttachment,
  FakeChannel,
  FakeDiscordOptions,
  FakeGuild,
  FakeRole,
  FakeUser,
  InjectedFault,
  ReactionEmoji,
  RecordedRequest,
  RejectedRequest,
  StoredCommand,
  StoredMessage,
  ThreadRecord,
} from './types.js';
import { validateMessageLimits } from './validation.js';
import { waitFor } from './wait.js';
import { World } from './world.js';

export type * from './types.js';
export type { FakeInteraction, InteractionCallback, ReplySummary } from './interaction.js';
export type { CommandOptionInput, SendCommandInput } from './slash.js';
export type { SendComponentInput, SendModalInput } from './components.js';
export { Permission, type PermissionName } from './permissions.js';

const DEFAULTS = {
  botToken: 'fake-bot-token',
  heartbeatIntervalMs: 41_250,
  enforceIntents: true,
  uploadLimitBytes: 10 * 1024 * 1024,
  recommendedShards: 1,
} as const;

export class FakeDiscord {
  readonly apiBase: string;
  readonly cdnBase: string;
  readonly cdnHost: string;

  constructor(
    private readonly world: World,
    private readonly server: Server,
    port: number,
  ) {
    this.apiBase = `http://127.0.0.1:${port}/api`;
    this.cdnBase = `http://127.0.0.1:${port}/cdn`;
    this.cdnHost = `127.0.0.1:${port}`;
  }

  get botToken(): string {
    return this.world.botToken;
  }
  get botUser(): FakeUser {
    return this.world.botUser;
  }
  get applicationId(): string {
    return this.world.botUser.id;
  }
  get guildId(): string {
    return this.world.guildId;
  }
  get channelId(): string {
    return this.world.channelId;
  }
  get commands(): StoredCommand[] {
    return this.world.commands;
  }
  get guildCommands(): StoredCommand[] {
    return this.world.guildCommands;
  }
  get requests(): RecordedRequest[] {
    return this.world.requests;
  }
  /** TCP connections the fake has accepted (REST, CDN and the gateway). */
  get connectionsAccepted(): number {
    return this.world.connectionsAccepted;
  }
  get unknownRoutes(): RecordedRequest[] {
    return this.world.unknownRoutes;
  }
  /**
   * Requests answered 400 / 50035 "Invalid Form Body": bodies that break Discord's OpenAPI schema
   * or its other limits (validation.ts). A bot that sends a valid request never lands here.
   */
  get rejected(): RejectedRequest[] {
    return this.world.rejected;
  }
  get dispatched(): DispatchedEvent[] {
    return this.world.dispatched;
  }
  /** Events not delivered: intent missing from IDENTIFY, or no gateway session. */
  get dropped(): DroppedEvent[] {
    return this.world.dropped;
  }
  get threads(): ThreadRecord[] {
    return this.world.threads;
  }
  get interactions(): FakeInteraction[] {
    return [...this.world.interactions.values()];
  }
  /** Each interaction to every session (default) or to one session in turn (several bot processes). */
  set interactionRouting(routing: 'all' | 'round-robin') {
    this.world.gateway.interactionRouting = routing;
  }

  /** Live gateway sessions (one per connected bot process). */
  get sessions(): number {
    return this.world.gateway.liveSessions();
  }

  /** The `[shard_id, num_shards]` of each live gateway session. */
  get shards(): [number, number][] {
    return this.world.gateway.liveShards();
  }

  /**
   * Another guild, whose id Discord would route to shard `shard` of `shardCount`
   * (`(guild_id >> 22) % shardCount`), with its own `general` channel; every user is a member.
   * Add it before the bot logs in: the shard's READY and GUILD_CREATE carry it.
   */
  addGuild(opts: { shard: number; shardCount: number; name?: string }): FakeGuild {
    return this.world.addGuild(opts);
  }

  /** True while the bot has a READY gateway session. */
  get gatewayReady(): boolean {
    return this.world.gateway.isReady();
  }

  /** Cuts the bot's gateway connection and refuses reconnects until restoreGateway(). */
  dropGateway(): void {
    this.world.gateway.refuse(true);
  }

  /** Lets the bot connect again (it resumes its session). */
  restoreGateway(): void {
    this.world.gateway.refuse(false);
  }

  addUser(opts: { username?: string; bot?: boolean } = {}): FakeUser {
    const user = this.world.makeUser(opts.username ?? `user${this.world.users.size}`, opts.bot ?? false);
    if (this.gatewayReady) {
      const member = this.world.member(user);
      for (const guildId of this.world.guildIds())
        this.world.dispatch('GUILD_MEMBER_ADD', { ...member, guild_id: guildId });
    }
    return user;
  }

  /**
   * A text (0), announcement (5), forum (15) or media (16) channel. `requireTag` (forum and media)
   * sets REQUIRE_TAG: a post without `applied_tags` is refused with 40067.
   */
  addChannel(
    opts: { name?: string; type?: number; allowThreads?: boolean; requireTag?: boolean } = {},
  ): FakeChannel {
    const channel = this.world.addChannel(opts);
    if (this.gatewayReady) this.world.dispatch('CHANNEL_CREATE', channel);
    return channel;
  }

  /** The person who owns the guild (every permission, Manage Server included). */
  get owner(): FakeUser {
    return this.world.owner;
  }

  /** A guild role with these permission bits (none by default); dispatched as GUILD_ROLE_CREATE. */
  addRole(opts: { name?: string; permissions?: PermissionName[] } = {}): FakeRole {
    const bits = (opts.permissions ?? []).reduce((b, name) => b | Permission[name], 0n);
    const role = roleObject(this.world.nextId(), {
      name: opts.name ?? `role-${this.world.roles.length + 1}`,
      permissions: bits,
      position: this.world.roles.length + 1,
    });
    this.world.roles.push(role);
    if (this.gatewayReady) this.world.dispatch('GUILD_ROLE_CREATE', { guild_id: this.world.guildId, role });
    return role;
  }

  /**
   * Gives a member a role. Dispatched as GUILD_MEMBER_UPDATE, which (like Discord) reaches only
   * a bot with the privileged Guild Members intent; interactions and reactions carry the roles.
   */
  giveRole(userId: string, roleId: string): void {
    const roles = this.world.memberRoles.get(userId) ?? [];
    if (!roles.includes(roleId)) this.world.memberRoles.set(userId, [...roles, roleId]);
    this.world.dispatch('GUILD_MEMBER_UPDATE', {
      ...this.world.member(this.world.user(userId)),
      guild_id: this.world.guildId,
    });
  }

  /** A public thread a person started under a channel, without a starter message. */
  addThread(opts: { parentId?: string; name?: string; owner?: FakeUser } = {}): FakeChannel {
    const parent = this.world.channel(opts.parentId ?? this.world.channelId);
    return createThread(this.world, parent, {
      id: this.world.nextId(),
      name: opts.name ?? 'a thread',
      type:
        parent.type === ChannelType.Announcement ? ChannelType.AnnouncementThread : ChannelType.PublicThread,
      autoArchive: 1440,
      starterMessageId: null,
      ownerId: (opts.owner ?? this.world.owner).id,
    });
  }

  dmChannelFor(userId: string): FakeChannel {
    return this.world.dmChannelFor(userId);
  }

  /** Sends to this user's DM channel answer 403 / 50007 from now on. */
  blockDms(userId: string): void {
    this.world.blockedDms.add(userId);
  }

  addAttachment(opts: {
    filename: string;
    bytes: Buffer;
    contentType?: string;
    channelId?: string;
  }): FakeAttachment {
    const { bytes: _b, ...attachment } = publishAttachment(this.world, {
      channelId: opts.channelId ?? this.world.channelId,
      filename: opts.filename,
      bytes: opts.bytes,
      contentType: opts.contentType,
      ephemeral: true,
    });
    return attachment;
  }

  /** The attachment's URLs answer 404 from now on (POST /attachments/refresh-urls issues a new one). */
  expireAttachment(id: string): void {
    expireAttachment(this.world, id);
  }

  /** A message a person posted (before the bot started, if called before login); dispatched if connected. */
  addMessage(opts: {
    author: FakeUser;
    channelId?: string;
    content?: string;
    embeds?: unknown[];
  }): StoredMessage {
    const channel = this.world.channel(opts.channelId ?? this.world.channelId);
    const json = { content: opts.content ?? '', embeds: opts.embeds ?? [] };
    validateMessageLimits(json);
    const message = buildMessage(
      this.world,
      { json, files: [] },
      { author: opts.author, channel, uploadLimit: this.world.uploadLimitBytes, allowedFlags: 0 },
    );
    storeMessage(this.world, message);
    return message;
  }

  sendCommand(input: SendCommandInput): Promise<FakeInteraction> {
    return sendCommand(this.world, input);
  }

  /** A person presses a button (`customId`) on a message in the interaction's channel. */
  pressButton(input: SendComponentInput): Promise<FakeInteraction> {
    return sendButton(this.world, input);
  }

  /** A person submits a modal (`customId`) with these text inputs. */
  submitModal(input: SendModalInput): Promise<FakeInteraction> {
    return sendModalSubmit(this.world, input);
  }

  /**
   * Takes these permissions from the bot in a channel (and the threads under it): REST answers
   * 403 (50001 without View Channel, 50013 otherwise) and new interactions carry the reduced
   * `app_permissions`. Dispatched as CHANNEL_UPDATE so discord.js's own math agrees.
   */
  denyPermissions(channelId: string, permissions: PermissionName[]): void {
    const channel = this.world.channel(channelId);
    if (isThread(channel)) throw new Error('denyPermissions: deny on the parent channel; threads inherit it');
    denyOnChannel(
      this.world,
      channel,
      permissions.reduce((bits, name) => bits | Permission[name], 0n),
    );
    this.world.dispatch('CHANNEL_UPDATE', channel);
  }

  /** Deletes a channel or thread: every route on it answers 404 / 10003 from now on. */
  deleteChannel(channelId: string): void {
    const channel = this.world.channel(channelId);
    this.world.channels.delete(channelId);
    this.world.dispatch(isThread(channel) ? 'THREAD_DELETE' : 'CHANNEL_DELETE', {
      id: channel.id,
      type: channel.type,
      ...(channel.guild_id === undefined ? {} : { guild_id: channel.guild_id }),
      ...(channel.parent_id === undefined ? {} : { parent_id: channel.parent_id }),
    });
  }

  /** A moderator locks and archives a thread: sends answer 400 / 50083 from now on. */
  lockThread(threadId: string): void {
    const thread = this.world.channel(threadId);
    if (thread.thread_metadata === undefined) throw new Error(`lockThread: ${threadId} is not a thread`);
    thread.thread_metadata = { ...thread.thread_metadata, archived: true, locked: true };
    this.world.dispatch('THREAD_UPDATE', thread);
  }

  /** Discord honours a nonce for minutes only: every nonce sent so far is forgotten. */
  forgetNonces(): void {
    for (const list of this.world.messages.values()) for (const m of list) delete m.nonce;
  }

  /** Every existing interaction token answers 401 / 50027 from now on, as after 15 minutes. */
  expireInteractionTokens(): void {
    for (const interaction of this.world.interactions.values()) interaction.expired = true;
  }

  /** A person reacts; `emoji` is a unicode emoji or `name:id`. The message must exist in the fake. */
  react(opts: {
    user: FakeUser;
    channelId?: string;
    messageId: string;
    emoji: string | ReactionEmoji;
  }): void {
    const channelId = opts.channelId ?? this.world.channelId;
    const message = this.world.messagesIn(channelId).find((m) => m.id === opts.messageId);
    if (message === undefined) throw new Error(`react: no message ${opts.messageId} in channel ${channelId}`);
    const emoji = typeof opts.emoji === 'string' ? parseEmoji(opts.emoji) : opts.emoji;
    addReaction(this.world, opts.user, message, emoji);
  }

  /** Messages in creation order, with what was sent (allowed_mentions, nonce, attachment bytes). */
  messagesIn(channelId: string): StoredMessage[] {
    return [...this.world.messagesIn(channelId)];
  }

  /** The next request matching method and path (decoded, e.g. /api/v10/channels/1/messages) gets this answer. */
  failNext(method: string, path: RegExp, fault: InjectedFault): void {
    this.world.faults.push({ ...fault, method: method.toUpperCase(), path });
  }

  /**
   * Runs `hook` for every request matching method and path (decoded, as for `failNext`) after the
   * fake has applied its effect (a message stored, a reaction added) and before it answers; the
   * answer waits for the returned promise. For crash tests: kill the client between a side
   * effect and the client learning of it. Returns a function that removes the hook.
   */
  onRequest(
    method: string,
    path: RegExp,
    hook: (request: RecordedRequest) => void | Promise<void>,
  ): () => void {
    const entry = { method: method.toUpperCase(), path, run: hook };
    this.world.hooks.push(entry);
    return () => {
      const at = this.world.hooks.indexOf(entry);
      if (at >= 0) this.world.hooks.splice(at, 1);
    };
  }

  waitFor<T>(fn: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
    return waitFor(fn, timeoutMs, () => this.describeRecent());
  }

  /**
   * Closes every idle HTTP connection (the gateway stays), as Discord's edge does to a connection
   * left idle: the bot's next requests each open a new one.
   */
  dropIdleConnections(): void {
    this.server.closeIdleConnections();
  }

  async close(): Promise<void> {
    this.world.gateway.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private describeRecent(): string {
    const requests = this.world.requests.slice(-8).map((r) => `  ${r.method} ${r.path} → ${r.status ?? '…'}`);
    const events = this.world.dispatched.slice(-8).map((e) => `  ${e.t}`);
    const dropped = this.world.dropped.slice(-5).map((e) => `  ${e.t} (${e.reason})`);
    return [
      `recent requests:`,
      ...requests,
      `recent dispatches:`,
      ...events,
      `recent drops:`,
      ...dropped,
    ].join('\n');
  }
}

export async function startFakeDiscord(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  const world = new World({
    botToken: options.botToken ?? DEFAULTS.botToken,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? DEFAULTS.heartbeatIntervalMs,
    enforceIntents: options.enforceIntents ?? DEFAULTS.enforceIntents,
    uploadLimitBytes: options.uploadLimitBytes ?? DEFAULTS.uploadLimitBytes,
    recommendedShards: options.recommendedShards ?? DEFAULTS.recommendedShards,
  });
  const { server, port } = await startServer(world);
  world.baseUrl = `http://127.0.0.1:${port}`;
  return new FakeDiscord(world, server, port);
}
