// Builds and dispatches INTERACTION_CREATE for a slash command, in the exact shape discord.js needs
// (entitlements, authorizing_integration_owners and a channel object are all required).
import { randomBytes } from 'node:crypto';
import { ChannelType, EVERYONE_PERMISSIONS, guildChannel, roleObject } from './guild.js';
import { FakeInteraction } from './interaction.js';
import { botPermissions } from './permissions.js';
import type { FakeAttachment, FakeChannel, FakeUser } from './types.js';
import { waitFor } from './wait.js';
import type { World } from './world.js';

export interface CommandOptionInput {
  name: string;
  type: number;
  value?: string | number | boolean;
  options?: CommandOptionInput[];
  focused?: boolean;
}

export interface SendCommandInput {
  name: string;
  user: FakeUser;
  channelId?: string;
  options?: CommandOptionInput[];
  attachments?: FakeAttachment[];
  /** Sent as `attachment_size_limit`; the fake also enforces it on this interaction's uploads. */
  attachmentSizeLimit?: number;
  inDm?: boolean;
  /** Sent as `app_permissions` instead of what the channel's overwrites give the bot. */
  appPermissions?: bigint;
  /**
   * Used through a user install in a server the bot is not in: a guild and channel the bot has
   * never seen, and only the user's installation among the authorizing integration owners.
   */
  userInstall?: boolean;
}

const OptionType = {
  Subcommand: 1,
  SubcommandGroup: 2,
  String: 3,
  Integer: 4,
  Boolean: 5,
  User: 6,
  Channel: 7,
  Role: 8,
  Mentionable: 9,
  Number: 10,
  Attachment: 11,
} as const;

/** Every option with a value, subcommand groups' and subcommands' nested options included. */
function leaves(options: CommandOptionInput[]): CommandOptionInput[] {
  return options.flatMap((o) => (o.options ? leaves(o.options) : [o]));
}

function resolved(
  world: World,
  input: SendCommandInput,
  channel: FakeChannel,
  inGuild: boolean,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const attachments = input.attachments ?? [];
  if (attachments.length > 0) {
    out.attachments = Object.fromEntries(
      attachments.map((a) => [
        a.id,
        {
          id: a.id,
          filename: a.filename,
          size: a.size,
          content_type: a.content_type,
          url: a.url,
          proxy_url: a.proxy_url,
          ephemeral: true,
        },
      ]),
    );
  }
  const options = leaves(input.options ?? []);
  const ids = (...types: number[]) =>
    options.flatMap((o) => (types.includes(o.type) && typeof o.value === 'string' ? [o.value] : []));
  const users = ids(OptionType.User, OptionType.Mentionable).flatMap((id) => {
    const user = world.users.get(id);
    return user === undefined ? [] : [user];
  });
  if (users.length > 0) {
    out.users = Object.fromEntries(users.map((u) => [u.id, u]));
    if (inGuild) {
      // Resolved members carry their permissions in the channel, and no `user` (it is in `users`).
      out.members = Object.fromEntries(
        users.map((u) => {
          const { user: _u, ...member } = world.member(u);
          return [u.id, { ...member, permissions: world.memberPermissions(u, channel).toString() }];
        }),
      );
    }
  }
  if (inGuild) {
    const everyone = roleObject(world.guildId, {
      name: '@everyone',
      permissions: EVERYONE_PERMISSIONS,
      position: 0,
    });
    const roles = ids(OptionType.Role, OptionType.Mentionable).flatMap((id) => {
      const role = id === world.guildId ? everyone : world.roles.find((r) => r.id === id);
      return role === undefined ? [] : [role];
    });
    if (roles.length > 0) out.roles = Object.fromEntries(roles.map((r) => [r.id, r]));
  }
  const channels = ids(OptionType.Channel).flatMap((id) => {
    const c = world.channels.get(id);
    return c === undefined ? [] : [c];
  });
  if (channels.length > 0) {
    // Partial channels: id, name, type and the member's permissions; threads add parent and metadata.
    out.channels = Object.fromEntries(
      channels.map((c) => [
        c.id,
        {
          id: c.id,
          name: c.name ?? null,
          type: c.type,
          permissions: world.memberPermissions(input.user, c).toString(),
          ...(c.thread_metadata ? { parent_id: c.parent_id, thread_metadata: c.thread_metadata } : {}),
        },
      ]),
    );
  }
  return out;
}

/**
 * Discord sends only options the registered command has, of their declared types, within their
 * choices and bounds, with every required one present. A test that sends anything else is wrong,
 * so a registered command's options are checked against its definition.
 */
function checkOptions(defs: unknown, sent: CommandOptionInput[], path: string): void {
  const list = Array.isArray(defs) ? (defs as Record<string, unknown>[]) : [];
  for (const option of sent) {
    const def = list.find((d) => d.name === option.name);
    const where = `${path}${option.name}`;
    if (def === undefined)
      throw new Error(`sendCommand: ${where} is not an option of the registered command`);
    if (def.type !== option.type)
      throw new Error(`sendCommand: ${where} has type ${String(def.type)}, not ${option.type}`);
    if (option.type === OptionType.Subcommand || option.type === OptionType.SubcommandGroup) {
      checkOptions(def.options, option.options ?? [], `${where} `);
      continue;
    }
    const value = option.value;
    if (Array.isArray(def.choices) && !(def.choices as { value: unknown }[]).some((c) => c.value === value)) {
      throw new Error(`sendCommand: ${where}=${String(value)} is not one of its choices`);
    }
    if (typeof value === 'number') {
      if (typeof def.min_value === 'number' && value < def.min_value)
        throw new Error(`sendCommand: ${where} below min_value`);
      if (typeof def.max_value === 'number' && value > def.max_value)
        throw new Error(`sendCommand: ${where} above max_value`);
      if (option.type === OptionType.Integer && !Number.isInteger(value))
        throw new Error(`sendCommand: ${where} is not an integer`);
    }
    if (typeof value === 'string' && option.type === OptionType.String) {
      if (typeof def.min_length === 'number' && value.length < def.min_length)
        throw new Error(`sendCommand: ${where} too short`);
      if (typeof def.max_length === 'number' && value.length > def.max_length)
        throw new Error(`sendCommand: ${where} too long`);
    }
  }
  const grouping = list.some(
    (d) => d.type === OptionType.Subcommand || d.type === OptionType.SubcommandGroup,
  );
  if (grouping && sent.length !== 1)
    throw new Error(`sendCommand: ${path || 'the command '}needs exactly one subcommand`);
  for (const def of list) {
    if (def.required === true && !sent.some((o) => o.name === def.name)) {
      throw new Error(`sendCommand: ${path}${String(def.name)} is required`);
    }
  }
}

/** What Discord grants a user-installed app where it is not a member: its own responses only. */
const USER_INSTALL_PERMISSIONS = (1n << 14n) | (1n << 15n) | (1n << 17n) | (1n << 18n);

/** A text channel in a server the bot is not in (kept in the world so interaction replies work). */
function foreignChannel(world: World): FakeChannel {
  const channel = guildChannel(world.nextId(), world.nextId(), {
    name: 'elsewhere',
    type: ChannelType.Text,
    position: 0,
    allowThreads: true,
  });
  world.channels.set(channel.id, channel);
  return channel;
}

export async function sendCommand(world: World, input: SendCommandInput): Promise<FakeInteraction> {
  const command = [...world.guildCommands, ...world.commands].find(
    (c) => c.name === input.name && c.type === 1,
  );
  if (command !== undefined) checkOptions(command.options, input.options ?? [], '');
  return dispatchInteraction(world, input, input.name, (channel) => {
    const inGuild = channel.guild_id !== undefined;
    return {
      type: 2,
      data: {
        id: command?.id ?? world.nextId(),
        name: input.name,
        type: 1,
        options: input.options ?? [],
        resolved: resolved(world, input, channel, inGuild),
        ...(inGuild ? { guild_id: channel.guild_id } : {}),
      },
    };
  });
}

/** Where and as whom an interaction happens; shared by commands, buttons and modal submits. */
export type InteractionPlace = Pick<
  SendCommandInput,
  'user' | 'channelId' | 'inDm' | 'attachmentSizeLimit' | 'appPermissions' | 'userInstall'
>;

/** Builds the envelope every interaction shares, adds `body(channel)`, and dispatches it. */
export async function dispatchInteraction(
  world: World,
  input: InteractionPlace,
  name: string,
  body: (channel: FakeChannel) => Record<string, unknown>,
): Promise<FakeInteraction> {
  await waitFor(
    () => world.gateway.isReady(),
    5000,
    () => 'the bot has no READY gateway session: did it log in?',
  );
  const channel =
    input.inDm === true
      ? world.dmChannelFor(input.user.id)
      : input.userInstall === true
        ? foreignChannel(world)
        : world.channels.get(input.channelId ?? world.channelId);
  if (channel === undefined) throw new Error(`interaction: unknown channel ${input.channelId ?? ''}`);
  const inGuild = channel.guild_id !== undefined;
  const guildId = channel.guild_id ?? world.guildId;
  const id = world.nextId();
  const token = Buffer.from(`interaction:${id}:${randomBytes(48).toString('base64url')}`).toString(
    'base64url',
  );
  const attachmentSizeLimit = input.attachmentSizeLimit ?? 10_485_760;
  const permissions = (
    input.appPermissions ??
    (input.userInstall === true ? USER_INSTALL_PERMISSIONS : botPermissions(world, channel))
  ).toString();
  const owners =
    input.userInstall === true
      ? { '1': input.user.id }
      : // Guild install: the guild id in a server, "0" in the bot's DM.
        { '0': inGuild ? guildId : '0' };
  const payload = {
    id,
    application_id: world.botUser.id,
    token,
    version: 1,
    ...body(channel),
    ...(inGuild
      ? {
          guild_id: guildId,
          guild: { id: guildId, locale: 'en-US', features: [] },
          // The member's own permissions here (not the bot's, which are app_permissions).
          member: {
            ...world.member(input.user),
            permissions: world.memberPermissions(input.user, channel).toString(),
          },
        }
      : { user: input.user }),
    channel_id: channel.id,
    channel: { ...channel, permissions },
    app_permissions: permissions,
    locale: 'en-US',
    ...(inGuild ? { guild_locale: 'en-US' } : {}),
    entitlements: [],
    authorizing_integration_owners: owners,
    context: inGuild ? 0 : 1,
    attachment_size_limit: attachmentSizeLimit,
  };
  const interaction = new FakeInteraction({
    id,
    token,
    applicationId: world.botUser.id,
    commandName: name,
    channelId: channel.id,
    guildId: inGuild ? guildId : undefined,
    user: input.user,
    attachmentSizeLimit,
  });
  world.interactions.set(id, interaction);
  world.dispatch('INTERACTION_CREATE', payload);
  return interaction;
}
