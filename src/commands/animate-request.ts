// What /animate's options mean for a model, apart from where they came from: the size names, and
// the one check of a request against the chosen model's catalogue entry. /animate reads its
// options from the interaction, the terminal runner from its arguments; both refuse here, with a
// reason, an option the model does not support, never dropping it silently. `enhance` works with
// every model, but only where the prompt enhancer is configured (a WaveSpeed key).
import type { AnimateRequest } from '../engine/engine.js';
import { Refusal } from '../failures.js';
import { isModelId, MODELS, type ModelId } from '../providers/catalog.js';
import type { Resolution } from '../providers/types.js';

/** `size` choices: the contract's two, then fal's other aspect ratios. */
export const SIZE_CHOICES = {
  landscape: '16:9',
  portrait: '9:16',
  '4:3': '4:3',
  '3:4': '3:4',
  '21:9': '21:9',
  '9:21': '9:21',
} as const;

/** The options as given; absent ones take /animate's defaults. */
export interface AnimateChoices {
  prompt: string;
  model?: string | undefined;
  size?: string | undefined;
  duration?: number | undefined;
  resolution?: string | undefined;
  loop?: boolean | undefined;
  /** Whether an end image was given (its bytes are checked by whoever reads it). */
  endImage?: boolean;
  /** The prompt enhancer: true rewrites the prompt first (one more credit). */
  enhance?: boolean | undefined;
}

/** What the bot offers beyond the models' own options. */
export interface Offered {
  /** The prompt enhancer is configured (WaveSpeed's optimizer, with its key). */
  enhance: boolean;
}

const isSize = (v: string): v is keyof typeof SIZE_CHOICES => v in SIZE_CHOICES;
const isResolution = (v: string): v is Resolution => v === '540p' || v === '720p' || v === '1080p';

/** The request the choices make, or a Refusal saying which option is wrong for which model. */
export function checkAnimateRequest(
  choices: AnimateChoices,
  defaultModel: ModelId,
  offered: Offered = { enhance: false },
): AnimateRequest {
  const prompt = choices.prompt.trim();
  if (prompt.length === 0 || prompt.length > 2000) {
    throw new Refusal({ code: 'bad_prompt' });
  }
  const model = choices.model ?? defaultModel;
  if (!isModelId(model)) throw new Refusal({ code: 'unknown_model', model });
  const spec = MODELS[model];
  const refuse = (option: string) => new Refusal({ code: 'unsupported_option', model, option });

  const size = choices.size ?? 'landscape';
  if (!isSize(size)) throw new Refusal({ code: 'bad_size', size });
  const aspectRatio = SIZE_CHOICES[size];
  if (!spec.aspectRatios.includes(aspectRatio)) throw refuse(`size: ${size}`);

  const duration = choices.duration ?? 5;
  if (duration !== 5 && duration !== 10) throw new Refusal({ code: 'bad_duration' });
  const durationSeconds: 5 | 10 = duration === 10 ? 10 : 5;

  const request: AnimateRequest = { model, prompt, aspectRatio, durationSeconds };
  const { resolution, loop } = choices;
  if (resolution !== undefined) {
    if (!isResolution(resolution)) throw new Refusal({ code: 'bad_resolution', resolution });
    if (!spec.resolutions.includes(resolution)) throw refuse('resolution');
    request.resolution = resolution;
  }
  if (loop !== undefined) {
    if (!spec.supportsLoop) throw refuse('loop');
    request.loop = loop;
  }
  if (choices.endImage === true && !spec.supportsEndImage) throw refuse('end_image');
  // Given at all (false too) without the enhancer: refused like loop on a model without it.
  if (choices.enhance !== undefined && !offered.enhance) throw refuse('enhance');
  if (choices.enhance === true) request.enhance = true;
  return request;
}
