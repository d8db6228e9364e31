// What the runner checks before anything is sent, as /animate would: the options against the
// model (the same check), the model's provider key, the images by their bytes, and the output path.
import { resolve } from 'node:path';
import { checkAnimateRequest } from '../commands/animate-request.js';
import type { TerminalConfig } from '../config.js';
import type { AnimateRequest, InputImage } from '../engine/engine.js';
import { Refusal } from '../failures.js';
import { MODEL_IDS, MODELS, type ModelId } from '../providers/catalog.js';
import type { RunnerArgs } from './args.js';
import { checkWritable, readImage } from './input.js';

export interface Prepared {
  request: AnimateRequest;
  image: InputImage;
  endImage?: InputImage;
  /** The path asked for with --out; absent: `animate-<job id>.mp4` in the caller's directory. */
  out?: string;
}

/** The job to run, or a Refusal or InputError saying what is wrong with it. */
export async function prepare(
  args: RunnerArgs,
  config: TerminalConfig,
  available: (model: ModelId) => boolean,
  cwd: string,
  /** The prompt enhancer can run: WaveSpeed's optimizer has its key. */
  canEnhance = false,
): Promise<Prepared> {
  const request = checkAnimateRequest(
    {
      prompt: args.prompt,
      model: args.model,
      size: args.size,
      duration: args.duration === undefined ? undefined : Number(args.duration),
      resolution: args.resolution,
      loop: args.loop,
      endImage: args.endImage !== undefined,
      enhance: args.enhance,
    },
    defaultModel(config.DEFAULT_MODEL, available),
    { enhance: canEnhance },
  );
  if (!available(request.model)) throw new Refusal({ code: 'model_unavailable', model: request.model });
  const maxBytes = Math.min(config.IMAGE_MAX_BYTES, MODELS[request.model].maxImageBytes);
  const image = await readImage(resolve(cwd, args.image), maxBytes);
  const endImage = args.endImage ? await readImage(resolve(cwd, args.endImage), maxBytes) : undefined;
  const out = args.out === undefined ? undefined : resolve(cwd, args.out);
  await checkWritable(cwd, out);
  return { request, image, ...(endImage ? { endImage } : {}), ...(out ? { out } : {}) };
}

/** DEFAULT_MODEL, or when its provider has no key the first model whose provider has one. */
function defaultModel(configured: ModelId, available: (model: ModelId) => boolean): ModelId {
  return available(configured) ? configured : (MODEL_IDS.find(available) ?? configured);
}
