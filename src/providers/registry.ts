// Builds the providers the settings enable: a model is offered only when its provider has a key.
// Each model's endpoint and image cap come from the catalogue; every request is told to `observer`.
// The prompt optimizer comes with the WaveSpeed key, whatever model a job runs on.
import type { Config } from '../config.js';
import type { Http } from '../net/http.js';
import { MODEL_IDS, MODELS, type ModelId, type ModelSpec } from './catalog.js';
import { createFalProvider } from './fal.js';
import type { ProviderRequestObserver } from './request.js';
import type { PromptOptimizer, ProviderId, VideoProvider } from './types.js';
import { createWaveSpeedProvider } from './wavespeed.js';
import { createPromptOptimizer } from './wavespeed/optimizer.js';

/** The settings the providers are built from (the bot's and the terminal runner's both have them). */
export type ProviderSettings = Pick<
  Config,
  'WAVESPEED_API_KEY' | 'WAVESPEED_BASE_URL' | 'FAL_KEY' | 'FAL_QUEUE_URL' | 'FAL_STORAGE_URL'
>;

/** Where each provider's webhooks go: `<PUBLIC_URL>/webhooks/<provider>` (docs/push.md). */
export function webhookUrlFor(publicUrl: string, provider: ProviderId): string {
  return `${publicUrl.replace(/\/+$/, '')}/webhooks/${provider}`;
}

export function createProviders(
  config: ProviderSettings & { PUBLIC_URL?: string | undefined },
  http: Http,
  observer?: ProviderRequestObserver,
): Map<ModelId, VideoProvider> {
  const webhook = (provider: ProviderId) =>
    config.PUBLIC_URL ? { webhookUrl: webhookUrlFor(config.PUBLIC_URL, provider) } : {};
  const build = (spec: ModelSpec): VideoProvider | undefined => {
    const common = {
      http,
      endpoint: spec.endpoint,
      maxImageBytes: spec.maxImageBytes,
      ...(observer ? { observer } : {}),
    };
    switch (spec.provider) {
      case 'wavespeed':
        return config.WAVESPEED_API_KEY
          ? createWaveSpeedProvider({
              ...common,
              baseUrl: config.WAVESPEED_BASE_URL,
              apiKey: config.WAVESPEED_API_KEY,
              ...webhook('wavespeed'),
            })
          : undefined;
      case 'fal':
        return config.FAL_KEY
          ? createFalProvider({
              ...common,
              queueUrl: config.FAL_QUEUE_URL,
              storageUrl: config.FAL_STORAGE_URL,
              apiKey: config.FAL_KEY,
              ...webhook('fal'),
            })
          : undefined;
    }
  };
  const providers = new Map<ModelId, VideoProvider>();
  for (const id of MODEL_IDS) {
    const provider = build(MODELS[id]);
    if (provider) providers.set(id, provider);
  }
  return providers;
}

/** WaveSpeed's prompt optimizer (`/animate enhance`, for every model) while its key is set. */
export function createOptimizer(
  config: Pick<ProviderSettings, 'WAVESPEED_API_KEY' | 'WAVESPEED_BASE_URL'>,
  http: Http,
  observer?: ProviderRequestObserver,
): PromptOptimizer | undefined {
  if (!config.WAVESPEED_API_KEY) return undefined;
  return createPromptOptimizer({
    http,
    baseUrl: config.WAVESPEED_BASE_URL,
    apiKey: config.WAVESPEED_API_KEY,
    observer,
  });
}

/** The setting that holds each provider's key. */
export const KEY_SETTING: Readonly<Record<ProviderId, 'WAVESPEED_API_KEY' | 'FAL_KEY'>> = {
  wavespeed: 'WAVESPEED_API_KEY',
  fal: 'FAL_KEY',
};

/** What the keys in the settings make available, decided before anything starts. */
export interface Availability {
  /** Models whose provider has a key, in the order of the price table. */
  on: ModelId[];
  /** Models whose provider has none, each with the setting that would turn it on. */
  off: { model: ModelId; setting: 'WAVESPEED_API_KEY' | 'FAL_KEY' }[];
  /** The model a request without `model` gets: DEFAULT_MODEL, or else the first that is on. */
  defaultModel: ModelId | undefined;
}

export function availability(
  config: Pick<Config, 'WAVESPEED_API_KEY' | 'FAL_KEY' | 'DEFAULT_MODEL'>,
): Availability {
  const keyed = (provider: ProviderId) => !!config[KEY_SETTING[provider]];
  const on = MODEL_IDS.filter((id) => keyed(MODELS[id].provider));
  const off = MODEL_IDS.filter((id) => !keyed(MODELS[id].provider)).map((model) => ({
    model,
    setting: KEY_SETTING[MODELS[model].provider],
  }));
  return { on, off, defaultModel: on.includes(config.DEFAULT_MODEL) ? config.DEFAULT_MODEL : on[0] };
}
