// Health and metrics for the composition root in one call: the metrics start reading the engine
// and the ledger, and the listener answers /healthz from the gateway and the store.
import type { Client } from 'discord.js';
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../logger.js';
import type { Economy } from '../store/economy.js';
import type { Store } from '../store/keyv.js';
import { checkHealth, gatewayConnected, storeAnswers } from './health.js';
import { startOpsServer, type OpsServer } from './http-server.js';
import type { Metrics } from './metrics.js';

export interface OpsParts {
  host: string;
  port: number;
  metrics: Metrics;
  engine: Pick<Engine, 'stats'>;
  economy: Pick<Economy, 'audit'>;
  client: Client;
  keyv: Store;
  log: Logger;
}

/** Starts the listener; its `close()` also stops the metrics' audit (before the store closes). */
export async function startOps(parts: OpsParts): Promise<OpsServer> {
  const { metrics, engine, economy, client, keyv } = parts;
  metrics.watch({ jobs: () => engine.stats(), audit: () => economy.audit() });
  let server: OpsServer;
  try {
    server = await startOpsServer({
      host: parts.host,
      port: parts.port,
      metrics,
      health: () => checkHealth({ gateway: () => gatewayConnected(client), store: () => storeAnswers(keyv) }),
      log: parts.log,
    });
  } catch (error) {
    await metrics.stop();
    throw error;
  }
  return {
    url: server.url,
    async close() {
      await server.close();
      await metrics.stop();
    },
  };
}
