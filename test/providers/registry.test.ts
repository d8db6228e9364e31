// The registry: one provider per catalogue model whose provider has a key, on the catalogue's endpoint.
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config.js';
import { createHttp } from '../../src/net/http.js';
import { MODEL_IDS, MODELS } from '../../src/providers/catalog.js';
import { createProviders } from '../../src/providers/registry.js';

const REQUIRED = { DISCORD_TOKEN: 'bot-token-value', DISCORD_CLIENT_ID: '123456789012345678' } as const;

describe('createProviders', () => {
  it('builds every catalogue model on its own endpoint when both keys are set', async () => {
    const http = createHttp();
    const config = configSchema.parse({ ...REQUIRED, WAVESPEED_API_KEY: 'ws', FAL_KEY: 'fal' });
    const providers = createProviders(config, http);
    expect([...providers.keys()]).toStrictEqual([...MODEL_IDS]);
    for (const [id, provider] of providers) {
      expect({ provider: provider.provider, endpoint: provider.endpoint }).toStrictEqual({
        provider: MODELS[id].provider,
        endpoint: MODELS[id].endpoint,
      });
    }
    await http.close();
  });

  it('offers only the models whose provider has a key', async () => {
    const http = createHttp();
    const config = configSchema.parse({ ...REQUIRED, FAL_KEY: 'fal' });
    expect([...createProviders(config, http).keys()]).toStrictEqual(
      MODEL_IDS.filter((id) => MODELS[id].provider === 'fal'),
    );
    await http.close();
  });
});
