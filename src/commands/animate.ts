// /animate: validates the request, quotes the price, hands it to the engine. Refusals are
// ephemeral and charge nothing; an accepted job continues in the channel with the bot token.
import { MessageFlags, type Attachment, type ChatInputCommandInteraction } from 'discord.js';
import { followUpsFor } from '../discord/followups.js';
import { assertCanPost } from '../discord/permissions.js';
import type { JobRequest } from '../engine/engine.js';
import { Refusal } from '../failures.js';
import { MODELS, type ModelId } from '../providers/catalog.js';
import { animateData } from './animate-data.js';
import { readAnimateOptions } from './animate-options.js';
import type { Command, CommandDeps } from './types.js';

const DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024;

export const animate = {
  data: animateData,

  async execute(interaction: ChatInputCommandInteraction, deps: CommandDeps) {
    // Refusals that need no I/O answer at once, before the deferral.
    assertCanPost(interaction);
    const request = readAnimateOptions(interaction, deps.defaultModel);
    if (!deps.engine.available(request.model)) throw unavailable(request.model);
    const price = deps.engine.price(request);

    await interaction.deferReply({ flags: MessageFlags.Ephemeral });

    const balance = await deps.ledger.balance(interaction.user.id);
    if (balance < price) throw insufficient(price, balance);

    const maxBytes = MODELS[request.model].maxImageBytes;
    const image = await fetchChecked(deps, request.image, maxBytes);
    const endImage = request.endImage ? await fetchChecked(deps, request.endImage, maxBytes) : undefined;

    const result = await deps.engine.accept({
      userId: interaction.user.id,
      guildId: interaction.guildId,
      channelId: interaction.channelId,
      // Discord sends attachment_size_limit on every interaction; 10 MiB is its documented floor.
      attachmentSizeLimit: interaction.attachmentSizeLimit ?? DEFAULT_UPLOAD_LIMIT,
      imageBytes: image.bytes,
      ...(endImage ? { endImageBytes: endImage.bytes } : {}),
      request: {
        model: request.model,
        prompt: request.prompt,
        aspectRatio: request.aspectRatio,
        durationSeconds: request.durationSeconds,
        ...(request.resolution ? { resolution: request.resolution } : {}),
        ...(request.loop !== undefined ? { loop: request.loop } : {}),
        image: image.record,
        ...(endImage ? { endImage: endImage.record } : {}),
      },
    });
    if (!result.ok) {
      if (result.code === 'insufficient_credits') throw insufficient(result.price, result.balance);
      throw unavailable(request.model);
    }
    followUpsFor(interaction.client).remember(result.job.id, interaction);
    const queued = result.job.state === 'waiting' ? ' It will start when your other jobs finish.' : '';
    // The job is accepted and charged from here on: a failed confirmation is only logged (the
    // generic error reply would wrongly say nothing was charged).
    await interaction
      .editReply({
        content: `Accepted: ${price} credits reserved, ${result.balance} left. Progress and the video will appear in this channel.${queued}`,
      })
      .catch((error: unknown) =>
        deps.log.warn(
          { err: error, jobId: result.job.id },
          'could not confirm the accepted job to the member',
        ),
      );
  },
} satisfies Command;

async function fetchChecked(deps: CommandDeps, attachment: Attachment, maxBytes: number) {
  if (attachment.size > maxBytes) {
    throw new Refusal({ code: 'image_too_large', maxBytes });
  }
  const image = await deps.fetchImage(attachment.url, attachment.size);
  const record: JobRequest['image'] = {
    sourceUrl: attachment.url,
    filename: `input.${image.type.extension}`,
    contentType: image.type.mime,
    bytes: image.bytes.length,
    uploads: {},
  };
  return { bytes: image.bytes, record };
}

const insufficient = (price: number, balance: number) =>
  new Refusal({ code: 'insufficient_credits', price, balance });

export const unavailable = (model: ModelId) => new Refusal({ code: 'model_unavailable', model });
