// The model catalogue: every model the bot offers, in one place — its provider and endpoint,
// the options it supports, its price and how long it usually runs.
import type { AspectRatio, ProviderId, Resolution } from './types.js';

export const MODEL_IDS = ['wavespeed/ray-2-flash', 'wavespeed/ray-2', 'fal/ray-2-flash'] as const;
export type ModelId = (typeof MODEL_IDS)[number];

/** What a member chose, before any provider mapping. */
export interface ModelOptions {
  aspectRatio: AspectRatio;
  durationSeconds: 5 | 10;
  resolution?: Resolution;
  loop?: boolean;
  hasEndImage?: boolean;
}

export interface ModelSpec {
  id: ModelId;
  provider: ProviderId;
  /** WaveSpeed model path or fal endpoint id. */
  endpoint: string;
  label: string;
  aspectRatios: readonly AspectRatio[];
  /** Empty when the model takes no resolution option. */
  resolutions: readonly Resolution[];
  supportsLoop: boolean;
  supportsEndImage: boolean;
  /** Typical wall time from submit to finished video, from the provider's page. */
  expectedRunSeconds: number;
  /** Largest input image we upload: WaveSpeed's documented limit; fal has none, so ours bounds memory. */
  maxImageBytes: number;
  /** Flash models can stand in for each other when one provider is down. */
  flashFamily: boolean;
  /** Whole credits; 1 credit = US$0.01 of provider cost. */
  price(options: ModelOptions): number;
}

/**
 * Credits the prompt enhancer adds to any model's price (`/animate enhance`): WaveSpeed's prompt
 * optimizer costs US$0.001 a run, billed as one whole credit and refunded when it fails.
 */
export const ENHANCE_PRICE = 1;

const MiB = 1024 * 1024;
const RESOLUTION_FACTOR: Record<Resolution, number> = { '540p': 1, '720p': 2, '1080p': 4 };

/** fal has no 10 s run: a 10 s request runs (and is billed) as 9 s. */
export function falDurationSeconds(durationSeconds: 5 | 10): 5 | 9 {
  return durationSeconds === 10 ? 9 : 5;
}

export const MODELS: Readonly<Record<ModelId, ModelSpec>> = {
  'wavespeed/ray-2-flash': {
    id: 'wavespeed/ray-2-flash',
    provider: 'wavespeed',
    endpoint: 'luma/ray-2-flash-i2v',
    label: 'Luma Ray 2 Flash (WaveSpeed)',
    aspectRatios: ['16:9', '9:16'],
    resolutions: [],
    supportsLoop: false,
    supportsEndImage: false,
    expectedRunSeconds: 59,
    maxImageBytes: 20 * MiB,
    flashFamily: true,
    price: (o) => 20 * (o.durationSeconds / 5),
  },
  'wavespeed/ray-2': {
    id: 'wavespeed/ray-2',
    provider: 'wavespeed',
    endpoint: 'luma/ray-2-i2v',
    label: 'Luma Ray 2 (WaveSpeed)',
    aspectRatios: ['16:9', '9:16'],
    resolutions: [],
    supportsLoop: false,
    supportsEndImage: false,
    expectedRunSeconds: 120,
    maxImageBytes: 20 * MiB,
    flashFamily: false,
    price: (o) => 40 * (o.durationSeconds / 5),
  },
  'fal/ray-2-flash': {
    id: 'fal/ray-2-flash',
    provider: 'fal',
    endpoint: 'fal-ai/luma-dream-machine/ray-2-flash/image-to-video',
    label: 'Luma Ray 2 Flash (fal)',
    aspectRatios: ['16:9', '9:16', '4:3', '3:4', '21:9', '9:21'],
    resolutions: ['540p', '720p', '1080p'],
    supportsLoop: true,
    supportsEndImage: true,
    expectedRunSeconds: 59,
    maxImageBytes: 20 * MiB,
    flashFamily: true,
    price: (o) => 4 * falDurationSeconds(o.durationSeconds) * RESOLUTION_FACTOR[o.resolution ?? '540p'],
  },
};

/**
 * The image cap for a provider's endpoint: its catalogue entry's, or for an endpoint the
 * catalogue does not list, the smallest cap among that provider's models.
 */
export function maxImageBytesFor(provider: ProviderId, endpoint: string): number {
  const models = Object.values(MODELS).filter((m) => m.provider === provider);
  const spec = models.find((m) => m.endpoint === endpoint);
  return spec?.maxImageBytes ?? Math.min(...models.map((m) => m.maxImageBytes));
}

export function isModelId(value: string): value is ModelId {
  return (MODEL_IDS as readonly string[]).includes(value);
}
