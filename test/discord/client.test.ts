// The bot's discord.js client keeps its connections to Discord's API through quiet spells, so the
// next burst of acknowledgements does not wait behind a handshake per request.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { connectedClients } from './connected.js';

const connect = connectedClients();

describe('the Discord client', () => {
  it("reuses its connection to the API after a quiet spell longer than discord.js's default 4 s", async () => {
    const { fake, client } = await connect();
    const channelFetches = () =>
      fake.requests.filter((r) => r.method === 'GET' && r.path === `/api/v10/channels/${fake.channelId}`);

    await client.channels.fetch(fake.channelId, { force: true });
    await sleep(5_000);
    await client.channels.fetch(fake.channelId, { force: true });

    const [first, second] = channelFetches();
    expect(channelFetches()).toHaveLength(2);
    expect(second?.clientPort).toBe(first?.clientPort);
  }, 15_000);
});
