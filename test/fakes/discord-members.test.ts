// Self-test of the fake Discord's members, roles and nested options: a real discord.js client
// reads what /animate-admin and the gate read (subcommand groups, resolved users, members, roles
// and channels, the member's permissions and roles, a thread's parent) from what the fake sends.
import {
  ApplicationCommandOptionType,
  ChannelType,
  Client,
  Events,
  GatewayIntentBits,
  GuildMember,
  type ChatInputCommandInteraction,
  type Interaction,
  MessageFlags,
  PermissionFlagsBits,
  REST,
  Routes,
} from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeDiscord, startFakeDiscord } from './discord/index.js';

let discord: FakeDiscord | undefined;
let client: Client | undefined;
afterEach(async () => {
  await client?.destroy();
  await discord?.close();
  client = undefined;
  discord = undefined;
});

async function login(fake: FakeDiscord): Promise<Client<true>> {
  const c = new Client({
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessageReactions],
    rest: { api: fake.apiBase },
  });
  client = c;
  const ready = new Promise<Client<true>>((resolve) => c.once(Events.ClientReady, resolve));
  await c.login(fake.botToken);
  return ready;
}

const ADMIN = {
  name: 'admin',
  description: 'test',
  options: [
    {
      type: ApplicationCommandOptionType.SubcommandGroup,
      name: 'credits',
      description: 'credits',
      options: [
        {
          type: ApplicationCommandOptionType.Subcommand,
          name: 'grant',
          description: 'grant',
          options: [
            { type: ApplicationCommandOptionType.User, name: 'member', description: 'm', required: true },
            {
              type: ApplicationCommandOptionType.Integer,
              name: 'amount',
              description: 'a',
              required: true,
              min_value: 1,
              max_value: 10,
            },
          ],
        },
      ],
    },
    {
      type: ApplicationCommandOptionType.Subcommand,
      name: 'where',
      description: 'where',
      options: [
        { type: ApplicationCommandOptionType.Channel, name: 'channel', description: 'c' },
        { type: ApplicationCommandOptionType.Role, name: 'role', description: 'r' },
      ],
    },
  ],
};

async function register(fake: FakeDiscord): Promise<void> {
  const rest = new REST({ version: '10', api: fake.apiBase }).setToken(fake.botToken);
  await rest.put(Routes.applicationCommands(fake.applicationId), { body: [ADMIN] });
}

function nextCommand(c: Client): Promise<ChatInputCommandInteraction> {
  return new Promise((resolve) => {
    const on = (i: Interaction) => {
      if (!i.isChatInputCommand()) return;
      c.off(Events.InteractionCreate, on);
      void i.reply({ content: 'ok', flags: MessageFlags.Ephemeral }).catch(() => undefined);
      resolve(i);
    };
    c.on(Events.InteractionCreate, on);
  });
}

describe('fake Discord: members, roles and nested options', () => {
  it('sends a subcommand group with a resolved user and member, and the member’s own permissions', async () => {
    const fake = await startFakeDiscord();
    discord = fake;
    const c = await login(fake);
    await register(fake);
    const manager = fake.addRole({ name: 'managers', permissions: ['ManageGuild'] });
    const admin = fake.addUser({ username: 'admin' });
    const target = fake.addUser({ username: 'target' });
    fake.giveRole(admin.id, manager.id);
    fake.giveRole(target.id, manager.id);

    const got = nextCommand(c);
    await fake.sendCommand({
      name: 'admin',
      user: admin,
      options: [
        {
          name: 'credits',
          type: 2,
          options: [
            {
              name: 'grant',
              type: 1,
              options: [
                { name: 'member', type: 6, value: target.id },
                { name: 'amount', type: 4, value: 5 },
              ],
            },
          ],
        },
      ],
    });
    const i = await got;
    expect(i.options.getSubcommandGroup()).toBe('credits');
    expect(i.options.getSubcommand()).toBe('grant');
    expect(i.options.getUser('member', true).id).toBe(target.id);
    expect(i.options.getInteger('amount')).toBe(5);
    const member = i.options.getMember('member');
    expect(member instanceof GuildMember ? [...member.roles.cache.keys()] : []).toContain(manager.id);
    expect(i.memberPermissions?.has(PermissionFlagsBits.ManageGuild)).toBe(true);
    expect(i.member instanceof GuildMember && i.member.roles.cache.has(manager.id)).toBe(true);

    const plain = fake.addUser({ username: 'plain' });
    const second = nextCommand(c);
    await fake.sendCommand({
      name: 'admin',
      user: plain,
      options: [{ name: 'where', type: 1, options: [] }],
    });
    const j = await second;
    expect(j.memberPermissions?.has(PermissionFlagsBits.ManageGuild)).toBe(false);
    // The bot's permissions are app_permissions, apart from the member's.
    expect(j.appPermissions.has(PermissionFlagsBits.SendMessages)).toBe(true);
  });

  it('resolves a channel option and a role option; a thread names its parent', async () => {
    const fake = await startFakeDiscord();
    discord = fake;
    const c = await login(fake);
    await register(fake);
    const role = fake.addRole({ name: 'artists' });
    const thread = fake.addThread({ parentId: fake.channelId });
    const user = fake.addUser();
    await fake.waitFor(() => c.channels.cache.get(thread.id));
    expect(c.channels.cache.get(thread.id)?.isThread()).toBe(true);

    const got = nextCommand(c);
    await fake.sendCommand({
      name: 'admin',
      user,
      channelId: thread.id,
      options: [
        {
          name: 'where',
          type: 1,
          options: [
            { name: 'channel', type: 7, value: thread.id },
            { name: 'role', type: 8, value: role.id },
          ],
        },
      ],
    });
    const i = await got;
    const channel = i.options.getChannel('channel', true);
    expect(channel.type).toBe(ChannelType.PublicThread);
    expect('parentId' in channel && channel.parentId).toBe(fake.channelId);
    expect(i.options.getRole('role', true).name).toBe('artists');
    const here = i.channel;
    expect(here?.isThread() && here.parentId).toBe(fake.channelId);
  });

  it('refuses to send options the registered command does not have, or out of bounds', async () => {
    const fake = await startFakeDiscord();
    discord = fake;
    await login(fake);
    await register(fake);
    const user = fake.addUser();
    const grant = (amount: number) => [
      {
        name: 'credits',
        type: 2,
        options: [
          {
            name: 'grant',
            type: 1,
            options: [
              { name: 'member', type: 6, value: user.id },
              { name: 'amount', type: 4, value: amount },
            ],
          },
        ],
      },
    ];
    await expect(fake.sendCommand({ name: 'admin', user, options: grant(11) })).rejects.toThrow(/max_value/);
    await expect(
      fake.sendCommand({ name: 'admin', user, options: [{ name: 'nope', type: 1, options: [] }] }),
    ).rejects.toThrow(/not an option/);
    await expect(
      fake.sendCommand({
        name: 'admin',
        user,
        options: [{ name: 'credits', type: 2, options: [{ name: 'grant', type: 1, options: [] }] }],
      }),
    ).rejects.toThrow(/member is required/);
  });

  it('puts the reactor’s roles on MESSAGE_REACTION_ADD', async () => {
    const fake = await startFakeDiscord();
    discord = fake;
    await login(fake);
    const role = fake.addRole();
    const user = fake.addUser();
    fake.giveRole(user.id, role.id);
    const message = fake.addMessage({ author: fake.botUser, content: 'hi' });
    fake.react({ user, messageId: message.id, emoji: '🔁' });
    const event = await fake.waitFor(() => fake.dispatched.find((e) => e.t === 'MESSAGE_REACTION_ADD'));
    expect(event.d.member).toMatchObject({ roles: [role.id] });
    // Without the privileged Guild Members intent, the role change itself never reaches the bot.
    expect(fake.dropped.some((e) => e.t === 'GUILD_MEMBER_UPDATE')).toBe(true);
  });
});
