// /jobs: the member's waiting and running jobs in this server (or their DMs), privately, each with
// its phase, expected finish and its own Cancel button.
import { MessageFlags, type ChatInputCommandInteraction } from 'discord.js';
import { jobsList, type CardPhase, type CardView } from '../discord/card.js';
import type { JobRecord } from '../store/jobs.js';
import type { Command, CommandDeps } from './types.js';

/** Where a job is, in the words of the status card. */
export function phaseOf(job: JobRecord): CardPhase {
  switch (job.state) {
    case 'waiting':
      return 'waiting';
    case 'submitted':
      return job.progress?.phase === 'running' ? 'rendering' : 'queued';
    case 'succeeded':
    case 'delivering':
      return 'fetching';
    case 'delivered':
      return 'done';
    case 'failed':
    case 'refunded':
      return job.failure?.code === 'cancelled' ? 'cancelled' : 'failed';
    default:
      return 'queued'; // accepted, submitting: on its way to the provider
  }
}

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
