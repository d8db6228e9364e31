// Reads /animate's options and checks them against the chosen model's catalogue entry: an option
// the model does not support is refused with a reason, never silently dropped.
import type { Attachment, ChatInputCommandInteraction } from 'discord.js';
import { Refusal } from '../failures.js';
import { isModelId, MODELS, type ModelId } from '../providers/catalog.js';
import type { AnimateRequest } from '../engine/engine.js';
import type { Resolution } from '../providers/types.js';
import { SIZE_CHOICES } from './animate-data.js';

/** The request, and the attachments still to be fetched. */
export interface AnimateOptions {
  request: AnimateRequest;
  image: Attachment;
  endImage?: Attachment;
}

const isSize = (v: string): v is keyof typeof SIZE_CHOICES => v in SIZE_CHOICES;
const isResolution = (v: string): v is Resolution => v === '540p' || v === '720p' || v === '1080p';

export function readAnimateOptions(
  interaction: ChatInputCommandInteraction,
  defaultModel: ModelId,
): AnimateOptions {
  const o = interaction.options;
  const prompt = o.getString('prompt', true).trim();
  if (prompt.length === 0 || prompt.length > 2000) {
    throw new Refusal({ code: 'bad_prompt' });
  }
  const model = o.getString('model') ?? defaultModel;
  if (!isModelId(model)) throw new Refusal({ code: 'unknown_model', model });
  const spec = MODELS[model];
  const refuse = (option: string) => new Refusal({ code: 'unsupported_option', model, option });

  const size = o.getString('size') ?? 'landscape';
  if (!isSize(size)) throw new Refusal({ code: 'bad_size', size });
  const aspectRatio = SIZE_CHOICES[size];
  if (!spec.aspectRatios.includes(aspectRatio)) throw refuse(`size: ${size}`);

  const duration = o.getInteger('duration') ?? 5;
  if (duration !== 5 && duration !== 10) throw new Refusal({ code: 'bad_duration' });
  const durationSeconds: 5 | 10 = duration === 10 ? 10 : 5;

  const request: AnimateRequest = { model, prompt, aspectRatio, durationSeconds };
  const options: AnimateOptions = { request, image: o.getAttachment('image', true) };

  const resolution = o.getString('resolution');
  if (resolution !== null) {
    if (!isResolution(resolution)) throw new Refusal({ code: 'bad_resolution', resolution });
    if (!spec.resolutions.includes(resolution)) throw refuse('resolution');
    request.resolution = resolution;
  }
  const loop = o.getBoolean('loop');
  if (loop !== null) {
    if (!spec.supportsLoop) throw refuse('loop');
    request.loop = loop;
  }
  const endImage = o.getAttachment('end_image');
  if (endImage !== null) {
    if (!spec.supportsEndImage) throw refuse('end_image');
    options.endImage = endImage;
  }
  return options;
}
