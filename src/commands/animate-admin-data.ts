// The /animate-admin definition as registered with Discord (kept apart from its handler). Only
// members with Manage Server see it by default (server admins can change that in Integrations;
// the handler checks the permission again), and only in servers: `contexts` [Guild] with a guild
// install, not the deprecated `dm_permission`.
import {
  ApplicationCommandOptionType,
  ApplicationIntegrationType,
  ChannelType,
  InteractionContextType,
  PermissionFlagsBits,
  type APIApplicationCommandBasicOption,
  type ApplicationCommandOptionAllowedChannelType,
  type APIApplicationCommandSubcommandOption,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import { MODEL_IDS } from '../providers/catalog.js';
import { PATTERN_MAX } from './gate.js';

export const CREDITS_MAX = 1_000_000;
export const CAP_MAX = 100_000_000;
export const JOBS_MAX = 10;
export const REASON_MAX = 200;

const member = (required = true): APIApplicationCommandBasicOption => ({
  type: ApplicationCommandOptionType.User,
  name: 'member',
  description: 'The member',
  required,
});
const reason: APIApplicationCommandBasicOption = {
  type: ApplicationCommandOptionType.String,
  name: 'reason',
  description: 'Why (kept in the ledger and the log)',
  max_length: REASON_MAX,
};
const amount = (min: number, max: number, description: string): APIApplicationCommandBasicOption => ({
  type: ApplicationCommandOptionType.Integer,
  name: 'amount',
  description,
  required: true,
  min_value: min,
  max_value: max,
});
const action = (...names: string[]): APIApplicationCommandBasicOption => ({
  type: ApplicationCommandOptionType.String,
  name: 'action',
  description: 'What to do',
  required: true,
  choices: names.map((n) => ({ name: n, value: n })),
});
const subcommand = (
  name: string,
  description: string,
  options: APIApplicationCommandBasicOption[] = [],
): APIApplicationCommandSubcommandOption => ({
  type: ApplicationCommandOptionType.Subcommand,
  name,
  description,
  options,
});

/** Channels /animate can be used in (threads count as their parent, so a forum covers its posts). */
const USABLE_CHANNELS: ApplicationCommandOptionAllowedChannelType[] = [
  ChannelType.GuildText,
  ChannelType.GuildAnnouncement,
  ChannelType.GuildVoice,
  ChannelType.GuildStageVoice,
  ChannelType.GuildForum,
  ChannelType.GuildMedia,
  ChannelType.PublicThread,
  ChannelType.PrivateThread,
  ChannelType.AnnouncementThread,
];

export const animateAdminData = {
  name: 'animate-admin',
  description: 'Server settings for /animate: credits, limits, and where and by whom it may be used',
  default_member_permissions: PermissionFlagsBits.ManageGuild.toString(),
  contexts: [InteractionContextType.Guild],
  integration_types: [ApplicationIntegrationType.GuildInstall],
  options: [
    {
      type: ApplicationCommandOptionType.SubcommandGroup,
      name: 'credits',
      description: 'A member’s credits in this server',
      options: [
        subcommand('grant', 'Give a member credits', [
          member(),
          amount(1, CREDITS_MAX, 'Credits to add'),
          reason,
        ]),
        subcommand('take', 'Take credits from a member (up to their free balance)', [
          member(),
          amount(1, CREDITS_MAX, 'Credits to take'),
          reason,
        ]),
        subcommand('set', 'Set a member’s free balance', [
          member(),
          amount(0, CREDITS_MAX, 'The new free balance'),
          reason,
        ]),
        subcommand('show', 'A member’s balance and latest entries', [member()]),
      ],
    },
    subcommand('allowance', 'Top every member up to an amount once per period (0 = off)', [
      amount(0, CREDITS_MAX, 'Credits a member is topped up to'),
      {
        type: ApplicationCommandOptionType.String,
        name: 'period',
        description: 'UTC day, ISO week (from Monday) or calendar month',
        required: true,
        choices: ['day', 'week', 'month'].map((p) => ({ name: p, value: p })),
      },
    ]),
    subcommand('cap', 'Limit the credits this whole server spends per period (0 = no cap)', [
      amount(0, CAP_MAX, 'Credits per period for the whole server'),
      {
        type: ApplicationCommandOptionType.String,
        name: 'period',
        description: 'UTC day or calendar month',
        required: true,
        choices: ['day', 'month'].map((p) => ({ name: p, value: p })),
      },
    ]),
    subcommand('channels', 'Where /animate may be used (empty list = everywhere)', [
      action('add', 'remove', 'clear', 'list'),
      {
        type: ApplicationCommandOptionType.Channel,
        name: 'channel',
        description: 'The channel (its threads count too)',
        channel_types: USABLE_CHANNELS,
      },
    ]),
    subcommand('models', 'Turn models off or on in this server', [
      action('enable', 'disable', 'list'),
      {
        type: ApplicationCommandOptionType.String,
        name: 'model',
        description: 'The model',
        choices: MODEL_IDS.map((id) => ({ name: id, value: id })),
      },
    ]),
    subcommand('roles', 'Who may use /animate (empty list = everyone)', [
      action('add', 'remove', 'clear', 'list'),
      { type: ApplicationCommandOptionType.Role, name: 'role', description: 'The role' },
    ]),
    subcommand('block', 'Stop a member from using /animate and reruns here', [member(), reason]),
    subcommand('unblock', 'Lift a block', [member()]),
    subcommand('limit', 'Jobs one member may run at once in this server', [
      {
        type: ApplicationCommandOptionType.Integer,
        name: 'jobs',
        description: 'Running jobs per member',
        required: true,
        min_value: 1,
        max_value: JOBS_MAX,
      },
    ]),
    subcommand('blocklist', 'Words or /regex/ patterns a prompt may not contain', [
      action('add', 'remove', 'list'),
      {
        type: ApplicationCommandOptionType.String,
        name: 'pattern',
        description: 'A word (whole words, any case) or /regex/',
        min_length: 1,
        max_length: PATTERN_MAX,
      },
    ]),
    subcommand('settings', 'Everything set for this server'),
  ],
} satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;
