// The shape of a slash command: its registration JSON and its handler, plus what handlers get.
import type {
  ChatInputCommandInteraction,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { FollowUps } from '../discord/followups.js';
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../logger.js';
import type { FetchImage } from '../media/fetch-image.js';
import type { ModelId } from '../providers/catalog.js';
import type { Ledger } from '../store/ledger.js';

export interface CommandDeps {
  /** Where /animate leaves its interaction, for follow-ups while its token lives. */
  followUps: FollowUps;
  engine: Engine;
  ledger: Ledger;
  fetchImage: FetchImage;
  defaultModel: ModelId;
  log: Logger;
}

export interface Command {
  data: RESTPostAPIChatInputApplicationCommandsJSONBody;
  execute(interaction: ChatInputCommandInteraction, deps: CommandDeps): Promise<void>;
}
