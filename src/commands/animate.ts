// /animate: reads the options, asks the engine for a quote, fetches the images and hands them to
// the engine's intake. Refusals are ephemeral and charge nothing; an accepted job continues in the
// channel with the bot token.
import type { Attachment, ChatInputCommandInteraction } from 'discord.js';
import { deferFirst } from '../discord/ack-first.js';
import { assertCanPost } from '../discord/permissions.js';
import type { InputImage } from '../engine/engine.js';
import { Refusal } from '../failures.js';
import { MODELS } from '../providers/catalog.js';
import { animateData } from './animate-data.js';
import { readAnimateOptions } from './animate-options.js';
import { gateCommand } from './gate.js';
import type { Command, CommandDeps } from './types.js';

/** Discord sends attachment_size_limit on every interaction; 10 MiB is its documented floor. */
const DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024;

export const animate = {
  data: animateData,

  async execute(interaction: ChatInputCommandInteraction, deps: CommandDeps) {
    // Refusals that need no I/O answer at once, before the deferral.
    assertCanPost(interaction);
    const { request, image, endImage } = readAnimateOptions(interaction, deps.defaultModel, {
      enhance: deps.engine.canEnhance === true,
    });
    await deferFirst(interaction, deps.acks);

    // The server's own rules (/animate-admin), before anything is quoted or charged.
    const refused = await gateCommand(interaction, deps.settings, request);
    if (refused) throw new Refusal(refused);
    const requester = { userId: interaction.user.id, guildId: interaction.guildId };
    const quote = await deps.engine.quote(requester, request);
    if (!quote.ok) throw new Refusal(quote.failure);
    const maxBytes = MODELS[request.model].maxImageBytes;
    const result = await deps.engine.accept({
      userId: interaction.user.id,
      guildId: interaction.guildId,
      channelId: interaction.channelId,
      attachmentSizeLimit: interaction.attachmentSizeLimit ?? DEFAULT_UPLOAD_LIMIT,
      request,
      image: await fetchChecked(deps, image, maxBytes),
      ...(endImage ? { endImage: await fetchChecked(deps, endImage, maxBytes) } : {}),
    });
    if (!result.ok) throw new Refusal(result.failure);
    deps.followUps.remember(result.job.id, interaction);

    const queued =
      result.job.state !== 'waiting'
        ? ''
        : result.waitsFor === 'your_jobs'
          ? ' It will start when your other jobs finish.'
          : ' It is in line and will start as soon as there is room.';
    // A forum or media channel takes no messages: the job gets a post of its own there.
    const threadOnly = interaction.client.channels.cache.get(interaction.channelId)?.isThreadOnly() === true;
    const where = threadOnly ? 'in a new post in this channel' : 'in this channel';
    const enhancer = request.enhance
      ? ` (1 of them for the prompt enhancer, given back if it cannot help)`
      : '';
    // The job is accepted and charged from here on: a failed confirmation is only logged (the
    // generic error reply would wrongly say nothing was charged).
    await interaction
      .editReply({
        content: `Accepted: ${result.job.price} credits reserved${enhancer}, ${result.balance} left. Progress and the video will appear ${where}.${queued}`,
      })
      .catch((error: unknown) =>
        deps.log.warn(
          { err: error, jobId: result.job.id },
          'could not confirm the accepted job to the member',
        ),
      );
  },
} satisfies Command;

async function fetchChecked(
  deps: CommandDeps,
  attachment: Attachment,
  maxBytes: number,
): Promise<InputImage> {
  if (attachment.size > maxBytes) throw new Refusal({ code: 'image_too_large', maxBytes });
  const image = await deps.fetchImage(attachment.url, attachment.size);
  return {
    sourceUrl: attachment.url,
    bytes: image.bytes,
    contentType: image.type.mime,
    extension: image.type.extension,
  };
}
