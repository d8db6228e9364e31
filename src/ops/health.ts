// The health rules: the bot is healthy while its gateway connection is up and its store answers.
// Each part is a check with a deadline; the report names every part that failed. See
// docs/operations.md, "Health".
import { Status, type Client } from 'discord.js';
import type { Store } from '../store/keyv.js';

/** True when the part works; false, a throw or no answer within the deadline all mean it does not. */
export type HealthCheck = () => boolean | Promise<boolean>;

export type HealthReport = { ok: true } | { ok: false; failing: string[] };

export const HEALTH_DEFAULTS = { timeoutMs: 2000 } as const;

/** Runs every check at once; a check that hangs fails at the deadline instead of holding the answer. */
export async function checkHealth(
  checks: Readonly<Record<string, HealthCheck>>,
  timeoutMs: number = HEALTH_DEFAULTS.timeoutMs,
): Promise<HealthReport> {
  const results = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => [name, await passes(check, timeoutMs)] as const),
  );
  const failing = results.filter(([, ok]) => !ok).map(([name]) => name);
  return failing.length === 0 ? { ok: true } : { ok: false, failing };
}

async function passes(check: HealthCheck, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([Promise.resolve().then(check), late]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Whether every gateway shard of this client is connected and READY. `client.isReady()` alone is
 * not enough: discord.js marks the client ready once and keeps it so through a dropped connection
 * and every reconnect attempt; only each shard's own status goes back to Connecting.
 */
export function gatewayConnected(client: Client): boolean {
  const shards = client.ws.shards;
  return client.isReady() && shards.size > 0 && shards.every((shard) => shard.status === Status.Ready);
}

/** Whether the store answers a read (any answer, a missing key included). */
export async function storeAnswers(keyv: Store): Promise<boolean> {
  await keyv.get('meta:health');
  return true;
}
