// The message a sharding manager's webhook listener sends its shard processes (docs/push.md,
// "Under start:sharded"): the task a verified delivery named. The shard with its job wakes it.
import type { ProviderId } from '../providers/types.js';

/** What the manager sends its shards for a verified webhook: the task whose job should look now. */
export interface ShardHint {
  animate: 'webhook-hint';
  provider: ProviderId;
  taskId: string;
}

export function isShardHint(message: unknown): message is ShardHint {
  const m = message as Partial<ShardHint> | null;
  return (
    typeof m === 'object' &&
    m !== null &&
    m.animate === 'webhook-hint' &&
    (m.provider === 'wavespeed' || m.provider === 'fal') &&
    typeof m.taskId === 'string'
  );
}
