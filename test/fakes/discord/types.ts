// Public types of the fake Discord: the API-shaped objects it stores and the records tests inspect.

export interface FakeDiscordOptions {
  botToken?: string;
  heartbeatIntervalMs?: number;
  enforceIntents?: boolean;
  uploadLimitBytes?: number;
  /** The `shards` GET /gateway/bot recommends (what SHARD_COUNT=auto gets); default 1. */
  recommendedShards?: number;
}

export interface FakeUser {
  id: string;
  username: string;
  discriminator: string;
  global_name: string | null;
  avatar: string | null;
  bot: boolean;
  public_flags: number;
}

export interface FakeRole {
  id: string;
  name: string;
  color: number;
  colors: { primary_color: number; secondary_color: number | null; tertiary_color: number | null };
  hoist: boolean;
  icon: string | null;
  unicode_emoji: string | null;
  position: number;
  /** The permission bits as a decimal string. */
  permissions: string;
  managed: boolean;
  mentionable: boolean;
  flags: number;
}

export interface PermissionOverwrite {
  id: string;
  type: 0 | 1;
  allow: string;
  deny: string;
}

export interface ThreadMetadata {
  archived: boolean;
  auto_archive_duration: number;
  archive_timestamp: string;
  locked: boolean;
  create_timestamp: string;
}

/** A channel as the API returns it; which optional fields are present depends on `type`. */
export interface FakeChannel {
  id: string;
  type: number;
  flags: number;
  last_message_id: string | null;
  name?: string;
  guild_id?: string;
  parent_id?: string | null;
  position?: number;
  topic?: string | null;
  permission_overwrites?: PermissionOverwrite[];
  rate_limit_per_user?: number;
  nsfw?: boolean;
  default_auto_archive_duration?: number;
  recipients?: FakeUser[];
  owner_id?: string;
  message_count?: number;
  member_count?: number;
  total_message_sent?: number;
  thread_metadata?: ThreadMetadata;
  member?: { id: string; user_id: string; join_timestamp: string; flags: number };
  available_tags?: unknown[];
  /** The tags on a forum or media post. */
  applied_tags?: string[];
  default_reaction_emoji?: null;
  default_thread_rate_limit_per_user?: number;
  default_sort_order?: number | null;
  default_forum_layout?: number;
}

export interface FakeAttachment {
  id: string;
  filename: string;
  size: number;
  content_type?: string;
  url: string;
  proxy_url: string;
  description?: string;
  ephemeral?: boolean;
}

export interface StoredAttachment extends FakeAttachment {
  bytes: Buffer;
}

export interface ReactionEmoji {
  id: string | null;
  name: string;
}

export interface StoredReaction {
  emoji: ReactionEmoji;
  userIds: string[];
}

/** A message as the fake keeps it: the API fields plus what was sent (allowed_mentions, nonce, bytes). */
export interface StoredMessage {
  id: string;
  channel_id: string;
  guild_id?: string;
  type: number;
  author: FakeUser;
  content: string;
  embeds: Record<string, unknown>[];
  components: unknown[];
  flags: number;
  allowed_mentions?: unknown;
  nonce?: string | number;
  message_reference?: unknown;
  attachments: StoredAttachment[];
  reactions: StoredReaction[];
  tts: boolean;
  timestamp: string;
  edited_timestamp: string | null;
  webhook_id?: string;
  application_id?: string;
  interaction_metadata?: Record<string, unknown>;
  /** Id of the thread started from this message, if any. */
  thread_id?: string;
  /** Creation time in ms, used for the nonce window. */
  createdAt: number;
}

export interface ThreadRecord {
  id: string;
  parentId: string;
  starterMessageId: string | null;
  name: string;
  type: number;
  ownerId: string;
  channel: FakeChannel;
}

export interface RecordedFile {
  field: string;
  name: string;
  contentType: string;
  bytes: Buffer;
}

export interface RecordedRequest {
  method: string;
  /** Decoded path, e.g. `/api/v10/webhooks/1/tok/messages/@original`. */
  path: string;
  rawPath: string;
  query: Record<string, string>;
  /** Lower-cased header names; authorization is kept so tests can check where tokens went. */
  headers: Record<string, string>;
  json?: unknown;
  files?: RecordedFile[];
  /** The bot's end of the connection: requests on one kept-alive connection share it. */
  clientPort: number;
  at: number;
  /** Filled in once the fake has answered. */
  status?: number;
  /** Set when the fake itself threw: a bug in the fake, not a Discord error. */
  error?: string;
}

export interface DispatchedEvent {
  t: string;
  /** A JSON snapshot of the payload as sent. */
  d: Record<string, unknown>;
  s: number;
  at: number;
  /** The `[shard_id, num_shards]` the receiving session identified with. */
  shard?: [number, number];
}

/** A guild besides the first (for sharding tests: its id picks the shard that hears it). */
export interface FakeGuild {
  id: string;
  name: string;
  /** Its text channel `general`. */
  channelId: string;
}

export interface DroppedEvent {
  t: string;
  d: Record<string, unknown>;
  reason: string;
  at: number;
}

export type StoredCommand = Record<string, unknown> & {
  id: string;
  application_id: string;
  name: string;
  type: number;
  version: string;
  guild_id?: string;
};

/** A request answered 400 / 50035 "Invalid Form Body": what was sent and what Discord would say. */
export interface RejectedRequest {
  method: string;
  /** Decoded path, as on RecordedRequest. */
  path: string;
  json?: unknown;
  /** Discord's `errors` tree, e.g. `{ content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', … }] } }`. */
  errors: Record<string, unknown>;
}

export interface InjectedFault {
  status: number;
  body?: unknown;
  /** Seconds, sent as `Retry-After`. */
  retryAfter?: number;
}
