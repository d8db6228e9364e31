// The shape of a slash command: its registration JSON and its handler, plus what handlers get.
import type {
  ChatInputCommandInteraction,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { AckQueue } from '../discord/ack-first.js';
import type { FollowUps } from '../discord/followups.js';
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../logger.js';
import type { FetchImage } from '../media/fetch-image.js';
import type { ModelId } from '../providers/catalog.js';
import type { Economy } from '../store/economy.js';
import type { GuildSettingsStore } from '../store/guild-settings.js';

export interface CommandDeps {
  /** Where /animate leaves its interaction, for follow-ups while its token lives. */
  followUps: FollowUps;
  engine: Engine;
  /** Balances and their entries: /credits and /animate-admin credits. */
  economy: Economy;
  /** Each server's rules, written by /animate-admin and read by the gate. */
  settings: GuildSettingsStore;
  /** ADMIN_USER_IDS: bot operators who may use /animate-admin in any server. */
  adminUserIds: ReadonlySet<string>;
  /** CREDITS_SCOPE: balances per member per server (`guild`), or one per member (`global`). */
  creditsScope: 'guild' | 'global';
  /** The clock for allowance and cap periods (tests move it). */
  now: () => number;
  fetchImage: FetchImage;
  /** The model a request without `model` gets: DEFAULT_MODEL, or the first with a key. */
  defaultModel: ModelId;
  log: Logger;
  /** Interactions not yet answered: work after an answer lets them go first (the router's own by default). */
  acks?: AckQueue;
  /** True once the bot is shutting down: every new interaction is told to come back. */
  stopping?: () => boolean;
}

export interface Command {
  data: RESTPostAPIChatInputApplicationCommandsJSONBody;
  execute(interaction: ChatInputCommandInteraction, deps: CommandDeps): Promise<void>;
}
