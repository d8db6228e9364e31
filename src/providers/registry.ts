// Builds the providers the settings enable: a model is offered only when its provider has a key.
// Each model's endpoint and image cap come from the catalogue.
import type { Config } from '../config.js';
import type { Http } from '../net/http.js';
import { MODEL_IDS, MODELS, type ModelId, type ModelSpec } from './catalog.js';
import { createFalProvider } from './fal.js';
import type { VideoProvider } from './types.js';
import { createWaveSpeedProvider } from './wavespeed.js';

/** The settings the providers are built from (the bot's and the terminal runner's both have them). */
export type ProviderSettings = Pick<
  Config,
  'WAVESPEED_API_KEY' | 'WAVESPEED_BASE_URL' | 'FAL_KEY' | 'FAL_QUEUE_URL' | 'FAL_STORAGE_URL'
>;

export function createProviders(config: ProviderSettings, http: Http): Map<ModelId, VideoProvider> {
  const build = (spec: ModelSpec): VideoProvider | undefined => {
    const common = { http, endpoint: spec.endpoint, maxImageBytes: spec.maxImageBytes };
    switch (spec.provider) {
      case 'wavespeed':
        return config.WAVESPEED_API_KEY
          ? createWaveSpeedProvider({
              ...common,
              baseUrl: config.WAVESPEED_BASE_URL,
              apiKey: config.WAVESPEED_API_KEY,
            })
          : undefined;
      case 'fal':
        return config.FAL_KEY
          ? createFalProvider({
              ...common,
              queueUrl: config.FAL_QUEUE_URL,
              storageUrl: config.FAL_STORAGE_URL,
              apiKey: config.FAL_KEY,
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
