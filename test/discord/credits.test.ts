// /credits answers within Discord's 3 s even when the store is slow: it defers first.
import Keyv from 'keyv';
import { describe, expect, it } from 'vitest';
import { credits } from '../../src/commands/credits.js';
import type { CommandDeps } from '../../src/commands/types.js';
import { routeInteractions } from '../../src/discord/interactions.js';
import { createLogger } from '../../src/logger.js';
import { createKeyvEconomy } from '../../src/store/economy-keyv.js';
import { createGuildSettingsStore } from '../../src/store/guild-settings.js';
import { connectedClients } from './connected.js';

const connect = connectedClients();

/**
 * A Keyv backend whose first read takes `delayMs`, like a Redis far away or under load. (/credits
 * reads several records one after another; one slow read is enough to miss the 3 s without a
 * deferral, and keeps the test short.)
 */
function slowMap(delayMs: number): Map<string, unknown> {
  const map = new Map<string, unknown>();
  const get = map.get.bind(map);
  let first = true;
  return Object.assign(map, {
    get: (key: string) => {
      const delay = first ? delayMs : 0;
      first = false;
      return new Promise((resolve) => setTimeout(() => resolve(get(key)), delay));
    },
  });
}

describe('/credits with a slow store', () => {
  it('acknowledges within 3 s and then shows the balance', async () => {
    const { fake, client: c } = await connect();
    const keyv = new Keyv({ store: slowMap(3500) });
    // /credits reads only the economy and the server's settings; the other dependencies are never touched.
    const deps = {
      economy: createKeyvEconomy({ keyv, startingCredits: 100 }),
      settings: createGuildSettingsStore(keyv),
      creditsScope: 'guild',
      now: Date.now,
      log: createLogger({ level: 'silent' }),
    } as Partial<CommandDeps> as CommandDeps;
    routeInteractions(c, [credits], deps);

    const interaction = await fake.sendCommand({ name: 'credits', user: fake.addUser() });
    await fake.waitFor(() => interaction.callbacks[0]);
    const first = interaction.callbacks[0];
    expect(first && first.at - interaction.receivedAt).toBeLessThan(3000);
    const reply = await interaction.waitForReply(10_000);
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toContain('**100**');
  });
});
