// The bot's real discord.js client logged in to a fresh fake Discord, closed after each test.
import { Events, type Client } from 'discord.js';
import { afterEach } from 'vitest';
import { createDiscordClient, destroyDiscordClient } from '../../src/discord/client.js';
import { startFakeDiscord, type FakeDiscord } from '../fakes/discord/index.js';

/** Registers the cleanup; call once at the top of a test file. */
export function connectedClients(): () => Promise<{ fake: FakeDiscord; client: Client }> {
  let discord: FakeDiscord | undefined;
  let client: Client | undefined;
  afterEach(async () => {
    await (client && destroyDiscordClient(client));
    await discord?.close();
    client = undefined;
    discord = undefined;
  });
  return async () => {
    const fake = await startFakeDiscord();
    discord = fake;
    const c = createDiscordClient({ apiUrl: fake.apiBase });
    client = c;
    const ready = new Promise((resolve) => c.once(Events.ClientReady, resolve));
    await c.login(fake.botToken);
    await ready;
    return { fake, client: c };
  };
}
