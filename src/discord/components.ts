// The buttons and the modal on our messages: Cancel on a status card (and in /jobs), Rerun,
// Edit & rerun and Delete on a result. Everything a handler needs is in the customId (the job id)
// and the store (the job), so buttons posted before a restart work the same (docs/discord.md,
// "The status card and its buttons"). Every one is answered within Discord's 3 s: privately,
// except the modal, which is the answer to Edit & rerun.
import { jobFields } from '../logger.js';
import {
  MessageFlags,
  PermissionFlagsBits,
  type ButtonInteraction,
  type ModalSubmitInteraction,
} from 'discord.js';
import type { CommandDeps } from '../commands/types.js';
import { gateRerun } from '../commands/gate.js';
import { failureMessage, type Failure } from '../failures.js';
import { promptOf, withPrompt } from '../engine/enhance.js';
import type { JobRecord } from '../store/jobs.js';
import { deferFirst } from './ack-first.js';
import { editRerunModal } from './card.js';
import { parseCustomId, type ParsedCustomId } from './custom-ids.js';
import { rerunPlace } from './rerun-place.js';

type ComponentInteraction = ButtonInteraction | ModalSubmitInteraction;

const allowedMentions = { parse: [] };
const DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024;

/** Ours (a customId we can read, for a job we know), or undefined for the stale answer. */
export async function componentTarget(
  interaction: ComponentInteraction,
  deps: Pick<CommandDeps, 'engine'>,
): Promise<{ id: ParsedCustomId; job: JobRecord } | undefined> {
  const id = parseCustomId(interaction.customId);
  if (!id) return undefined;
  const job = await deps.engine.job(id.jobId);
  return job ? { id, job } : undefined;
}

/** The requester, a member who may manage messages here, or a host admin. */
function mayModerate(
  interaction: ComponentInteraction,
  job: JobRecord,
  deps: Pick<CommandDeps, 'adminUserIds'>,
) {
  const userId = interaction.user.id;
  return (
    userId === job.userId ||
    deps.adminUserIds.has(userId) ||
    interaction.memberPermissions?.has(PermissionFlagsBits.ManageMessages) === true
  );
}

/** A private answer: the reply, or the deferred reply's text when we acknowledged first. */
const privately = (interaction: ComponentInteraction, content: string) =>
  interaction.deferred
    ? interaction.editReply({ content, allowedMentions })
    : interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions });

/**
 * Acknowledges at once (privately, "thinking…"), before any store read: a burst of presses is
 * answered within Discord's 3 s however slow the store. Not for Edit & rerun, whose answer must
 * be the modal itself.
 */
export async function acknowledge(interaction: ComponentInteraction, deps: CommandDeps): Promise<void> {
  if (interaction.deferred || interaction.replied) return;
  await deferFirst(interaction, deps.acks);
}

export async function runComponent(
  interaction: ComponentInteraction,
  target: { id: ParsedCustomId; job: JobRecord },
  deps: CommandDeps,
): Promise<void> {
  const { job } = target;
  const log = deps.log.child({ ...jobFields(job), by: interaction.user.id, action: target.id.action });
  switch (target.id.action) {
    case 'cancel': {
      if (!mayModerate(interaction, job, deps)) {
        await privately(
          interaction,
          'Only the member who asked for this video, or a moderator, can cancel it.',
        );
        return;
      }
      await acknowledge(interaction, deps);
      const outcome = await deps.engine.cancel(job.id, interaction.user.id);
      log.info({ outcome }, 'cancel pressed');
      await interaction.editReply({
        content:
          outcome === 'cancelled'
            ? `Cancelled. The ${job.price} credits are refunded to <@${job.userId}>.`
            : 'Too late to cancel: this video has already finished (or is being posted).',
        allowedMentions,
      });
      return;
    }
    case 'delete': {
      if (!mayModerate(interaction, job, deps)) {
        await privately(
          interaction,
          'Only the member who asked for this video, or a moderator, can delete it.',
        );
        return;
      }
      if (!interaction.isButton()) return;
      await acknowledge(interaction, deps);
      await interaction.message.delete();
      // The audit line an operator looks for: who (`by`) removed whose (`userId`) result.
      log.info({ messageId: interaction.message.id }, 'result deleted');
      await interaction.editReply({ content: 'Deleted.', allowedMentions });
      return;
    }
    case 'edit':
      // The modal is the answer; nothing is charged until it is submitted.
      if (interaction.isButton()) await interaction.showModal(editRerunModal(job));
      return;
    case 'rerun':
      // The prompt it ran with: the enhancer's rewrite, when it was used (not enhanced again).
      await rerun(interaction, job, promptOf(job), deps);
      return;
    case 'editsubmit': {
      if (!interaction.isModalSubmit()) return;
      const prompt = interaction.fields.getTextInputValue('prompt').trim();
      if (prompt.length === 0 || prompt.length > 2000) {
        await privately(interaction, failureMessage({ code: 'bad_prompt' }));
        return;
      }
      await rerun(interaction, job, prompt, deps);
      return;
    }
  }
}

/** A rerun from a button or the modal: the 🔁's twin, charged to whoever asked, into the same thread. */
async function rerun(
  interaction: ComponentInteraction,
  original: JobRecord,
  prompt: string,
  deps: CommandDeps,
): Promise<void> {
  await acknowledge(interaction, deps);
  const asked = withPrompt(original, prompt);
  const roleIds =
    interaction.inCachedGuild() || interaction.member === null
      ? interaction.inCachedGuild()
        ? [...interaction.member.roles.cache.keys()]
        : undefined
      : Array.isArray(interaction.member.roles)
        ? interaction.member.roles
        : undefined;
  const refused = await gateRerun(
    interaction.client,
    deps.settings,
    { userId: interaction.user.id, guildId: interaction.guildId ?? undefined, roleIds },
    asked,
  );
  const result: { ok: true; price: number; balance: number } | { ok: false; failure: Failure } = refused
    ? { ok: false, failure: refused }
    : await deps.engine
        .rerun(
          {
            userId: interaction.user.id,
            guildId: original.guildId,
            channelId: rerunPlace(original, interaction.channelId),
            attachmentSizeLimit: interaction.attachmentSizeLimit ?? DEFAULT_UPLOAD_LIMIT,
          },
          asked,
        )
        .then((r) => (r.ok ? { ok: true as const, price: r.job.price, balance: r.balance } : r));
  if (!result.ok) deps.log.info({ userId: interaction.user.id, code: result.failure.code }, 'rerun refused');
  await interaction.editReply({
    content: result.ok
      ? `Rerun accepted: ${result.price} credits reserved, ${result.balance} left. It will appear in the same thread.`
      : failureMessage(result.failure),
    allowedMentions,
  });
}
