// /jobs: the member's waiting and running jobs in this server (or their DMs), privately, each with
// its phase, expected finish and its own Cancel button.
import { MessageFlags, type ChatInputCommandInteraction } from 'discord.js';
import { jobsList, type CardView } from '../discord/card.js';
import { phaseOf } from '../discord/status-card.js';
import type { Command, CommandDeps } from './types.js';

export const jobs = {
  data: {
    name: 'jobs',
    description: 'Show your videos waiting or in progress here, with a Cancel button for each',
  },

  async execute(interaction: ChatInputCommandInteraction, deps: CommandDeps) {
    const open = deps.engine.openJobsOf(interaction.user.id, interaction.guildId);
    const list = open.map((job) => {
      const finish = deps.engine.expectedFinishAt(job);
      const view: CardView = {
        phase: phaseOf(job),
        ...(job.progress?.position !== undefined ? { position: job.progress.position } : {}),
        ...(finish !== undefined ? { expectedFinishAt: finish } : {}),
        now: deps.now(),
      };
      return { job, view };
    });
    await interaction.reply({
      ...jobsList(list),
      flags: MessageFlags.Ephemeral,
      allowedMentions: { parse: [] },
    });
  },
} satisfies Command;
