// Retry delays: exponential with jitter, never sooner than the server asked (Retry-After).

export const BACKOFF = { baseMs: 1000, capMs: 30_000 } as const;

/** Delay before retry number `attempt` (0-based); `random` is injectable for tests. */
export function backoffMs(
  attempt: number,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const exp = Math.min(BACKOFF.capMs, BACKOFF.baseMs * 2 ** attempt);
  // "Equal jitter": half fixed, half random, so retries spread out but never collapse to zero.
  const jittered = exp / 2 + (random() * exp) / 2;
  return Math.max(retryAfterMs ?? 0, Math.round(jittered));
}
