// Acknowledgements first (docs/discord.md, "Answering within 3 seconds"). Each interaction is
// answered ("thinking…") the moment it arrives, but what follows an answer (the store, the
// provider, the status message) would otherwise run on the same thread as the answers still to
// send, and a burst of a few hundred presses would see its last answers wait behind the first
// ones' work. So the work after an answer waits, briefly, until every interaction that had
// arrived by then has been answered too.
import { MessageFlags, type RepliableInteraction } from 'discord.js';

/** How long work after an answer may wait for the others: a ceiling, never the usual case. */
export const MAX_WAIT_MS = 500;

interface Waiter {
  /** Every interaction numbered up to this one must be answered first. */
  upTo: number;
  release: () => void;
}

export class AckQueue {
  private next = 0;
  /** Unanswered interactions by id, in arrival order (a Map keeps insertion order). */
  private readonly pending = new Map<string, number>();
  private readonly waiters: Waiter[] = [];

  constructor(private readonly maxWaitMs = MAX_WAIT_MS) {}

  /** An interaction has arrived and will be answered. */
  received(id: string): void {
    if (!this.pending.has(id)) this.pending.set(id, this.next++);
  }

  /** It has been answered, or given up on (its handler ended): safe to call more than once. */
  answered(id: string): void {
    if (!this.pending.delete(id)) return;
    const oldest = this.oldestUnanswered();
    while (this.waiters.length > 0 && this.waiters[0]!.upTo < oldest) this.waiters.shift()!.release();
  }

  /** Marks `id` answered and resolves once everything that arrived before now is answered too. */
  async afterOthers(id: string): Promise<void> {
    this.answered(id);
    const upTo = this.next - 1;
    if (this.oldestUnanswered() > upTo) return;
    await new Promise<void>((resolve) => {
      const waiter: Waiter = {
        upTo,
        release: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      // Waiters join in arrival order, so the queue stays sorted by `upTo`.
      this.waiters.push(waiter);
      const timer = setTimeout(() => {
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
        resolve();
      }, this.maxWaitMs);
      timer.unref();
    });
  }

  /** The number of the earliest arrival still unanswered; Infinity when none is. */
  private oldestUnanswered(): number {
    const oldest = this.pending.values().next();
    return oldest.done ? Infinity : oldest.value;
  }

  /** Interactions still unanswered (for tests). */
  get unanswered(): number {
    return this.pending.size;
  }
}

/** The private "thinking…" answer, then a short wait for the other interactions' answers. */
export async function deferFirst(
  interaction: RepliableInteraction,
  acks: AckQueue | undefined,
): Promise<void> {
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  await acks?.afterOthers(interaction.id);
}
