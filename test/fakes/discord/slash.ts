// Builds and dispatches INTERACTION_CREATE for a slash command, in the exact shape discord.js needs
// (entitlements, authorizing_integration_owners and a channel object are all required).
import { randomBytes } from 'node:crypto';
import { ChannelType, EVERYONE_PERMISSIONS, guildChannel, memberOf } from './guild.js';
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

const USER_OPTION = 6;
const MENTIONABLE_OPTION = 9;

function mentionedUsers(world: World, options: CommandOptionInput[]): FakeUser[] {
  return options.flatMap((o) => {
    const own =
      (o.type === USER_OPTION || o.type === MENTIONABLE_OPTION) && typeof o.value === 'string'
        ? world.users.get(o.value)
        : undefined;
    return [...(own === undefined ? [] : [own]), ...mentionedUsers(world, o.options ?? [])];
  });
}

function resolved(world: World, input: SendCommandInput, inGuild: boolean): Record<string, unknown> {
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
  const users = mentionedUsers(world, input.options ?? []);
  if (users.length > 0) {
    out.users = Object.fromEntries(users.map((u) => [u.id, u]));
    if (inGuild) {
      out.members = Object.fromEntries(
        users.map((u) => {
          const { user: _u, ...member } = memberOf(u, world.createdAt);
          return [u.id, { ...member, permissions: EVERYONE_PERMISSIONS }];
        }),
      );
    }
  }
  return out;
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
  return dispatchInteraction(world, input, input.name, (channel) => {
    const inGuild = channel.guild_id !== undefined;
    return {
      type: 2,
      data: {
        id: command?.id ?? world.nextId(),
        name: input.name,
        type: 1,
        options: input.options ?? [],
        resolved: resolved(world, input, inGuild),
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
          member: { ...memberOf(input.user, world.createdAt), permissions },
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
