// /credits answers within Discord's 3 s even when the store is slow: it defers first.
import Keyv from 'keyv';
import { describe, expect, it } from 'vitest';
import { credits } from '../../src/commands/credits.js';
import type { CommandDeps } from '../../src/commands/types.js';
import { routeInteractions } from '../../src/discord/interactions.js';
import { createLogger } from '../../src/logger.js';
import { createLedger } from '../../src/store/ledger.js';
import { connectedClients } from './connected.js';

const connect = connectedClients();

/** A Keyv backend that takes `delayMs` for every read, like a Redis far away or under load. */
function slowMap(delayMs: number): Map<string, unknown> {
  const map = new Map<string, unknown>();
  const get = map.get.bind(map);
  return Object.assign(map, {
    get: (key: string) => new Promise((resolve) => setTimeout(() => resolve(get(key)), delayMs)),
  });
}

describe('/credits with a slow store', () => {
  it('acknowledges within 3 s and then shows the balance', async () => {
    const { fake, client: c } = await connect();
    const ledger = createLedger({ keyv: new Keyv({ store: slowMap(3500) }), startingCredits: 100 });
    // /credits reads only the ledger; the other dependencies are never touched.
    const deps = { ledger, log: createLogger({ level: 'silent' }) } as Partial<CommandDeps> as CommandDeps;
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
