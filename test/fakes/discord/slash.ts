// Builds and dispatches INTERACTION_CREATE for a slash command, in the exact shape discord.js needs
// (entitlements, authorizing_integration_owners and a channel object are all required).
import { randomBytes } from 'node:crypto';
import { EVERYONE_PERMISSIONS, memberOf } from './guild.js';
import { FakeInteraction } from './interaction.js';
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

/** The app's permissions in the channel: @everyone's, minus what the channel's overwrites deny. */
function appPermissions(channel: FakeChannel): string {
  const denied = (channel.permission_overwrites ?? []).reduce((bits, o) => bits | BigInt(o.deny), 0n);
  return (BigInt(EVERYONE_PERMISSIONS) & ~denied).toString();
}

export async function sendCommand(world: World, input: SendCommandInput): Promise<FakeInteraction> {
  await waitFor(
    () => world.gateway.isReady(),
    5000,
    () => 'the bot has no READY gateway session: did it log in?',
  );
  const channel =
    input.inDm === true
      ? world.dmChannelFor(input.user.id)
      : world.channels.get(input.channelId ?? world.channelId);
  if (channel === undefined) throw new Error(`sendCommand: unknown channel ${input.channelId ?? ''}`);
  const inGuild = channel.guild_id !== undefined;
  const command = [...world.guildCommands, ...world.commands].find(
    (c) => c.name === input.name && c.type === 1,
  );
  const id = world.nextId();
  const token = Buffer.from(`interaction:${id}:${randomBytes(48).toString('base64url')}`).toString(
    'base64url',
  );
  const attachmentSizeLimit = input.attachmentSizeLimit ?? 10_485_760;
  const permissions = appPermissions(channel);
  const payload = {
    id,
    application_id: world.botUser.id,
    type: 2,
    token,
    version: 1,
    data: {
      id: command?.id ?? world.nextId(),
      name: input.name,
      type: 1,
      options: input.options ?? [],
      resolved: resolved(world, input, inGuild),
      ...(inGuild ? { guild_id: world.guildId } : {}),
    },
    ...(inGuild
      ? {
          guild_id: world.guildId,
          guild: { id: world.guildId, locale: 'en-US', features: [] },
          member: { ...memberOf(input.user, world.createdAt), permissions },
        }
      : { user: input.user }),
    channel_id: channel.id,
    channel: { ...channel, permissions },
    app_permissions: permissions,
    locale: 'en-US',
    ...(inGuild ? { guild_locale: 'en-US' } : {}),
    entitlements: [],
    // Guild install: the guild id in a server, "0" in the bot's DM.
    authorizing_integration_owners: { '0': inGuild ? world.guildId : '0' },
    context: inGuild ? 0 : 1,
    attachment_size_limit: attachmentSizeLimit,
  };
  const interaction = new FakeInteraction({
    id,
    token,
    applicationId: world.botUser.id,
    commandName: input.name,
    channelId: channel.id,
    guildId: inGuild ? world.guildId : undefined,
    user: input.user,
    attachmentSizeLimit,
  });
  world.interactions.set(id, interaction);
  world.dispatch('INTERACTION_CREATE', payload);
  return interaction;
}
