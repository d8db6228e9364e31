// Reads /animate's options from the interaction; what they mean for the chosen model is checked
// in animate-request.ts, shared with the terminal runner.
import type { Attachment, ChatInputCommandInteraction } from 'discord.js';
import type { AnimateRequest } from '../engine/engine.js';
import type { ModelId } from '../providers/catalog.js';
import { checkAnimateRequest, type Offered } from './animate-request.js';

/** The request, and the attachments still to be fetched. */
export interface AnimateOptions {
  request: AnimateRequest;
  image: Attachment;
  endImage?: Attachment;
}

export function readAnimateOptions(
  interaction: ChatInputCommandInteraction,
  defaultModel: ModelId,
  offered: Offered,
): AnimateOptions {
  const o = interaction.options;
  const endImage = o.getAttachment('end_image');
  const request = checkAnimateRequest(
    {
      prompt: o.getString('prompt', true),
      model: o.getString('model') ?? undefined,
      size: o.getString('size') ?? undefined,
      duration: o.getInteger('duration') ?? undefined,
      resolution: o.getString('resolution') ?? undefined,
      loop: o.getBoolean('loop') ?? undefined,
      endImage: endImage !== null,
      enhance: o.getBoolean('enhance') ?? undefined,
    },
    defaultModel,
    offered,
  );
  return {
    request,
    image: o.getAttachment('image', true),
    ...(endImage !== null ? { endImage } : {}),
  };
}
