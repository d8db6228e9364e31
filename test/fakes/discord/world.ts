// The fake's state: users, the guild and its channels, messages, threads, interactions, commands,
// CDN files, and the logs tests read. Route handlers receive it and change it.
import { randomBytes } from 'node:crypto';
import { Gateway, type GatewayHost } from './gateway.js';
import {
  ChannelType,
  dmChannel,
  EVERYONE_PERMISSIONS,
  guildChannel,
  guildPayload,
  memberOf,
} from './guild.js';
import { ApiError } from './http.js';
import type { FakeInteraction } from './interaction.js';
import { createSnowflakes } from './snowflake.js';
import type {
  DispatchedEvent,
  DroppedEvent,
  FakeChannel,
  FakeGuild,
  FakeRole,
  FakeUser,
  InjectedFault,
  RecordedRequest,
  RejectedRequest,
  StoredCommand,
  StoredMessage,
  ThreadRecord,
} from './types.js';

export interface WorldOptions {
  botToken: string;
  heartbeatIntervalMs: number;
  enforceIntents: boolean;
  uploadLimitBytes: number;
  recommendedShards: number;
}

export interface CdnEntry {
  id: string;
  channelId: string;
  filename: string;
  bytes: Buffer;
  contentType: string | undefined;
  /** The `hm` values accepted; emptied when a test expires the file. */
  signatures: Set<string>;
}

export interface PendingFault extends InjectedFault {
  method: string;
  path: RegExp;
}

export interface RequestHook {
  method: string;
  path: RegExp;
  run: (request: RecordedRequest) => void | Promise<void>;
}

export class World implements GatewayHost {
  readonly nextId = createSnowflakes();
  readonly createdAt = new Date().toISOString();
  readonly signingKey = randomBytes(32);
  readonly botUser: FakeUser;
  /** A person owns the guild so discord.js computes the bot's permissions instead of granting all. */
  readonly owner: FakeUser;
  readonly guildId: string;
  readonly channelId: string;
  /** Guilds besides the first, by id (every user is a member; roles live in the first only). */
  readonly otherGuilds = new Map<string, FakeGuild>();
  readonly users = new Map<string, FakeUser>();
  readonly channels = new Map<string, FakeChannel>();
  readonly dmByUser = new Map<string, string>();
  readonly blockedDms = new Set<string>();
  readonly noThreads = new Set<string>();
  /** The guild's roles besides @everyone. */
  readonly roles: FakeRole[] = [];
  /** Role ids per member (user id). */
  readonly memberRoles = new Map<string, string[]>();
  readonly messages = new Map<string, StoredMessage[]>();
  readonly threads: ThreadRecord[] = [];
  readonly interactions = new Map<string, FakeInteraction>();
  readonly commands: StoredCommand[] = [];
  readonly guildCommands: StoredCommand[] = [];
  readonly cdn = new Map<string, CdnEntry>();
  readonly requests: RecordedRequest[] = [];
  readonly unknownRoutes: RecordedRequest[] = [];
  readonly rejected: RejectedRequest[] = [];
  readonly dispatched: DispatchedEvent[] = [];
  readonly dropped: DroppedEvent[] = [];
  readonly faults: PendingFault[] = [];
  /** TCP connections accepted, the gateway's included. */
  connectionsAccepted = 0;
  readonly hooks: RequestHook[] = [];
  readonly gateway: Gateway;
  baseUrl = 'http://127.0.0.1:0';

  constructor(private readonly options: WorldOptions) {
    this.botUser = this.makeUser('fake-bot', true);
    this.owner = this.makeUser('guild-owner', false);
    this.guildId = this.nextId();
    this.channelId = this.addChannel({ name: 'general' }).id;
    this.gateway = new Gateway(this);
  }

  get botToken(): string {
    return this.options.botToken;
  }
  get heartbeatIntervalMs(): number {
    return this.options.heartbeatIntervalMs;
  }
  get enforceIntents(): boolean {
    return this.options.enforceIntents;
  }
  get uploadLimitBytes(): number {
    return this.options.uploadLimitBytes;
  }
  get recommendedShards(): number {
    return this.options.recommendedShards;
  }

  /** Every guild the bot is in, the first one first. */
  guildIds(): string[] {
    return [this.guildId, ...this.otherGuilds.keys()];
  }

  /**
   * A new guild whose id Discord would send to shard `shard` of `shardCount`
   * (`(guild_id >> 22) % shardCount`), with a text channel of its own.
   */
  addGuild(opts: { shard: number; shardCount: number; name?: string }): FakeGuild {
    const count = BigInt(opts.shardCount);
    let ms = BigInt(this.nextId()) >> 22n;
    ms += (BigInt(opts.shard) - (ms % count) + count) % count;
    // Worker bits set (ours count in the low 12 bits only), so no id nextId makes can equal it.
    const id = ((ms << 22n) | (31n << 17n) | BigInt(this.otherGuilds.size)).toString();
    const channel = guildChannel(this.nextId(), id, {
      name: 'general',
      type: ChannelType.Text,
      position: 0,
      allowThreads: true,
    });
    this.channels.set(channel.id, channel);
    const guild = { id, name: opts.name ?? `Fake Guild ${this.otherGuilds.size + 2}`, channelId: channel.id };
    this.otherGuilds.set(id, guild);
    return guild;
  }

  gatewayUrl(): string {
    return this.baseUrl.replace(/^http/, 'ws') + '/gateway';
  }

  makeUser(username: string, bot: boolean): FakeUser {
    const user: FakeUser = {
      id: this.nextId(),
      username,
      discriminator: bot ? '0001' : '0',
      global_name: bot ? null : username,
      avatar: null,
      bot,
      public_flags: 0,
    };
    this.users.set(user.id, user);
    return user;
  }

  addChannel(opts: {
    name?: string;
    type?: number;
    allowThreads?: boolean;
    requireTag?: boolean;
  }): FakeChannel {
    const type = opts.type ?? ChannelType.Text;
    const supported: number[] = [
      ChannelType.Text,
      ChannelType.Announcement,
      ChannelType.Forum,
      ChannelType.Media,
    ];
    if (!supported.includes(type)) throw new Error(`addChannel supports types 0, 5, 15 and 16, not ${type}`);
    const position = [...this.channels.values()].filter((c) => c.guild_id !== undefined).length;
    const channel = guildChannel(this.nextId(), this.guildId, {
      name: opts.name ?? `channel-${position}`,
      type,
      position,
      allowThreads: opts.allowThreads ?? true,
      ...(opts.requireTag === true ? { requiredTagId: this.nextId() } : {}),
    });
    this.channels.set(channel.id, channel);
    if (opts.allowThreads === false) this.noThreads.add(channel.id);
    return channel;
  }

  dmChannelFor(userId: string): FakeChannel {
    const existing = this.dmByUser.get(userId);
    if (existing !== undefined) return this.channel(existing);
    const channel = dmChannel(this.nextId(), this.user(userId));
    this.channels.set(channel.id, channel);
    this.dmByUser.set(userId, channel.id);
    return channel;
  }

  user(id: string): FakeUser {
    const user = this.users.get(id);
    if (user === undefined) throw new ApiError(404, 10013, 'Unknown User');
    return user;
  }

  channel(id: string): FakeChannel {
    const channel = this.channels.get(id);
    if (channel === undefined) throw new ApiError(404, 10003, 'Unknown Channel');
    return channel;
  }

  messagesIn(channelId: string): StoredMessage[] {
    let list = this.messages.get(channelId);
    if (list === undefined) {
      list = [];
      this.messages.set(channelId, list);
    }
    return list;
  }

  message(channelId: string, messageId: string): StoredMessage {
    const message = this.messagesIn(channelId).find((m) => m.id === messageId);
    if (message === undefined) throw new ApiError(404, 10008, 'Unknown Message');
    return message;
  }

  members(): Record<string, unknown>[] {
    return [...this.users.values()].map((u) => this.member(u));
  }

  /** The guild member object of a user, with their roles. */
  member(user: FakeUser): Record<string, unknown> {
    return memberOf(user, this.createdAt, this.memberRoles.get(user.id) ?? []);
  }

  /**
   * A member's permissions in a channel, as Discord computes them for these simple guilds: the
   * owner and Administrator have every bit; otherwise @everyone's and their roles' permissions,
   * minus what the channel's (for a thread, its parent's) @everyone overwrite denies.
   */
  memberPermissions(user: FakeUser, channel: FakeChannel): bigint {
    const all = (1n << 53n) - 1n;
    if (user.id === this.owner.id) return all;
    const held = new Set(this.memberRoles.get(user.id) ?? []);
    let bits = BigInt(EVERYONE_PERMISSIONS);
    for (const role of this.roles) if (held.has(role.id)) bits |= BigInt(role.permissions);
    if ((bits & (1n << 3n)) !== 0n) return all;
    const source =
      channel.parent_id && channel.thread_metadata
        ? (this.channels.get(channel.parent_id) ?? channel)
        : channel;
    const guildId = source.guild_id ?? this.guildId;
    const everyone = (source.permission_overwrites ?? []).find((o) => o.id === guildId);
    return everyone ? bits & ~BigInt(everyone.deny) : bits;
  }

  guildPayload(id: string = this.guildId): Record<string, unknown> {
    const first = id === this.guildId;
    return guildPayload({
      id,
      name: first ? 'Fake Guild' : (this.otherGuilds.get(id)?.name ?? 'Fake Guild'),
      ownerId: this.owner.id,
      createdAt: this.createdAt,
      users: [...this.users.values()],
      channels: [...this.channels.values()].filter(
        (c) => c.guild_id === id && c.thread_metadata === undefined,
      ),
      // A deleted thread keeps its record for tests but is gone from the guild.
      threads: this.threads.filter((t) => this.channels.has(t.id) && t.channel.guild_id === id),
      roles: first ? this.roles : [],
      memberRoles: first ? this.memberRoles : new Map(),
    });
  }

  dispatch(t: string, d: object): void {
    this.gateway.dispatch(t, d);
  }
}
