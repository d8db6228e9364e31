// Builds the providers the settings enable: a model is offered only when its provider has a key.
import type { Config } from '../config.js';
import type { Http } from '../net/http.js';
import type { ModelId } from './catalog.js';
import type { VideoProvider } from './types.js';
import { createFalProvider } from './fal.js';
import { createWaveSpeedProvider } from './wavespeed.js';

export function createProviders(config: Config, http: Http): Map<ModelId, VideoProvider> {
  const providers = new Map<ModelId, VideoProvider>();
  if (config.WAVESPEED_API_KEY) {
    const base = { http, baseUrl: config.WAVESPEED_BASE_URL, apiKey: config.WAVESPEED_API_KEY };
    providers.set(
      'wavespeed/ray-2-flash',
      createWaveSpeedProvider({ ...base, endpoint: 'luma/ray-2-flash-i2v' }),
    );
    providers.set('wavespeed/ray-2', createWaveSpeedProvider({ ...base, endpoint: 'luma/ray-2-i2v' }));
  }
  if (config.FAL_KEY) {
    providers.set(
      'fal/ray-2-flash',
      createFalProvider({
        http,
        queueUrl: config.FAL_QUEUE_URL,
        storageUrl: config.FAL_STORAGE_URL,
        apiKey: config.FAL_KEY,
      }),
    );
  }
  return providers;
}
