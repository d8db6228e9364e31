// /animate: validates the request, quotes the price, hands it to the engine. Refusals are
// ephemeral and charge nothing; an accepted job continues in the channel with the bot token.
import { ApplicationCommandOptionType, MessageFlags, type ChatInputCommandInteraction } from 'discord.js';
import { UserFacingError } from '../errors.js';
import { isModelId, MODEL_IDS, MODELS, type ModelId } from '../providers/catalog.js';
import type { AspectRatio } from '../providers/types.js';
import type { Command, CommandDeps } from './types.js';

const SIZES: Record<string, AspectRatio> = { landscape: '16:9', portrait: '9:16' };

export const animate = {
  data: {
    name: 'animate',
    description: 'Turn a picture into a short video',
    options: [
      {
        type: ApplicationCommandOptionType.Attachment,
        name: 'image',
        description: 'A PNG, JPEG or WebP image',
        required: true,
      },
      {
        type: ApplicationCommandOptionType.String,
        name: 'prompt',
        description: 'What should happen in the video',
        required: true,
        min_length: 1,
        max_length: 2000,
      },
      {
        type: ApplicationCommandOptionType.String,
        name: 'model',
        description: 'Which model makes the video',
        choices: MODEL_IDS.map((id) => ({ name: id, value: id })),
      },
      {
        type: ApplicationCommandOptionType.String,
        name: 'size',
        description: 'Orientation (default landscape)',
        choices: [
          { name: 'landscape', value: 'landscape' },
          { name: 'portrait', value: 'portrait' },
        ],
      },
      {
        type: ApplicationCommandOptionType.Integer,
        name: 'duration',
        description: 'Length in seconds (default 5)',
        choices: [
          { name: '5 seconds', value: 5 },
          { name: '10 seconds', value: 10 },
        ],
      },
    ],
  },

  async execute(interaction: ChatInputCommandInteraction, deps: CommandDeps) {
    const request = readOptions(interaction, deps.defaultModel);
    if (!deps.engine.available(request.model)) throw unavailable(request.model);
    const price = deps.engine.price(request);

    // Refusals that need no I/O answer at once; the rest run after the deferral.
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });

    const balance = await deps.ledger.balance(interaction.user.id);
    if (balance < price) throw insufficient(price, balance);

    const maxBytes = MODELS[request.model].maxImageBytes;
    if (request.attachment.size > maxBytes) {
      throw new UserFacingError(
        'image_too_large',
        `That image is too large: the limit is ${maxBytes / 1024 / 1024} MiB.`,
      );
    }
    const image = await deps.fetchImage(request.attachment.url, request.attachment.size);

    const result = await deps.engine.accept({
      userId: interaction.user.id,
      guildId: interaction.guildId,
      channelId: interaction.channelId,
      attachmentSizeLimit: interaction.attachmentSizeLimit,
      imageBytes: image.bytes,
      request: {
        model: request.model,
        prompt: request.prompt,
        aspectRatio: request.aspectRatio,
        durationSeconds: request.durationSeconds,
        image: {
          sourceUrl: request.attachment.url,
          filename: `input.${image.type.extension}`,
          contentType: image.type.mime,
          bytes: image.bytes.length,
          uploads: {},
        },
      },
    });
    if (!result.ok) {
      if (result.code === 'insufficient_credits') throw insufficient(result.price, result.balance);
      throw unavailable(request.model);
    }
    const queued = result.job.state === 'waiting' ? ' It will start when your other jobs finish.' : '';
    await interaction.editReply({
      content: `Accepted: ${price} credits reserved, ${result.balance} left. Progress and the video will appear in this channel.${queued}`,
    });
  },
} satisfies Command;

function readOptions(interaction: ChatInputCommandInteraction, defaultModel: ModelId) {
  const attachment = interaction.options.getAttachment('image', true);
  const prompt = interaction.options.getString('prompt', true).trim();
  if (prompt.length === 0 || prompt.length > 2000) {
    throw new UserFacingError('bad_prompt', 'The prompt must be 1 to 2,000 characters.');
  }
  const modelOption = interaction.options.getString('model') ?? defaultModel;
  if (!isModelId(modelOption))
    throw new UserFacingError('unknown_model', `There is no model called “${modelOption}”.`);
  const sizeOption = interaction.options.getString('size') ?? 'landscape';
  const aspectRatio = SIZES[sizeOption];
  if (!aspectRatio) throw new UserFacingError('bad_size', `Size must be landscape or portrait.`);
  const duration = interaction.options.getInteger('duration') ?? 5;
  if (duration !== 5 && duration !== 10)
    throw new UserFacingError('bad_duration', 'Duration must be 5 or 10 seconds.');
  const durationSeconds: 5 | 10 = duration === 10 ? 10 : 5;
  return { attachment, model: modelOption, prompt, aspectRatio, durationSeconds };
}

function insufficient(price: number, balance: number): UserFacingError {
  return new UserFacingError(
    'insufficient_credits',
    `This video costs ${price} credits and you have ${balance}. Nothing was charged.`,
  );
}

export function unavailable(model: ModelId): UserFacingError {
  return new UserFacingError(
    'model_unavailable',
    `${model} is not available on this bot right now. Nothing was charged.`,
  );
}
