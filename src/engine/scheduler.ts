// One timer queue for every job: a min-heap of wake-up times and a single armed timer for the
// earliest. Each key (a job id) has at most one pending wake-up; a new one replaces the old.
import type { Clock } from './clock.js';

interface Entry {
  key: string;
  at: number;
  seq: number;
  task: () => Promise<void>;
}

/** setTimeout cannot wait longer than this. */
const MAX_TIMER_MS = 2_147_483_647;

export class Scheduler {
  readonly #clock: Clock;
  readonly #onError: (key: string, error: unknown) => void;
  readonly #maxRunning: number;
  readonly #heap: Entry[] = [];
  /** The live entry per key; heap entries not in here are stale and skipped. */
  readonly #live = new Map<string, Entry>();
  readonly #ready: Entry[] = [];
  readonly #running = new Set<Promise<void>>();
  #timer: unknown;
  #timerAt = Infinity;
  #seq = 0;
  #stopped = false;

  constructor(opts: { clock: Clock; onError: (key: string, error: unknown) => void; maxRunning?: number }) {
    this.#clock = opts.clock;
    this.#onError = opts.onError;
    this.#maxRunning = opts.maxRunning ?? 64;
  }

  /** Runs `task` for `key` at time `at` (clock ms), replacing any earlier wake-up of that key. */
  at(key: string, at: number, task: () => Promise<void>): void {
    if (this.#stopped) return;
    const entry: Entry = { key, at, seq: this.#seq++, task };
    this.#live.set(key, entry);
    this.#push(entry);
    this.#arm();
  }

  in(key: string, delayMs: number, task: () => Promise<void>): void {
    this.at(key, this.#clock.now() + Math.max(0, delayMs), task);
  }

  cancel(key: string): void {
    this.#live.delete(key);
  }

  has(key: string): boolean {
    return this.#live.has(key);
  }

  get pending(): number {
    return this.#live.size;
  }

  /** Stops firing, forgets pending wake-ups and waits for running tasks. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#live.clear();
    this.#ready.length = 0;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    await Promise.allSettled([...this.#running]);
  }

  #arm(): void {
    const next = this.#peekLive();
    if (!next || this.#stopped) return;
    if (this.#timer !== undefined && this.#timerAt <= next.at) return;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timerAt = next.at;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, next.at - this.#clock.now()));
    this.#timer = this.#clock.setTimer(() => this.#fire(), delay);
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = this.#clock.now();
    for (let next = this.#peekLive(); next && next.at <= now; next = this.#peekLive()) {
      this.#pop();
      this.#live.delete(next.key);
      this.#ready.push(next);
    }
    this.#drain();
    this.#arm();
  }

  #drain(): void {
    while (this.#running.size < this.#maxRunning && this.#ready.length > 0 && !this.#stopped) {
      const entry = this.#ready.shift() as Entry;
      const run = entry
        .task()
        .catch((error: unknown) => this.#onError(entry.key, error))
        .finally(() => {
          this.#running.delete(run);
          this.#drain();
        });
      this.#running.add(run);
    }
  }

  #peekLive(): Entry | undefined {
    while (this.#heap.length > 0) {
      const top = this.#heap[0] as Entry;
      if (this.#live.get(top.key) === top) return top;
      this.#pop();
    }
    return undefined;
  }

  #less(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  #push(entry: Entry): void {
    const heap = this.#heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(heap[i] as Entry, heap[parent] as Entry)) break;
      [heap[i], heap[parent]] = [heap[parent] as Entry, heap[i] as Entry];
      i = parent;
    }
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop();
    if (heap.length === 0 || !last) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && this.#less(heap[l] as Entry, heap[m] as Entry)) m = l;
      if (r < heap.length && this.#less(heap[r] as Entry, heap[m] as Entry)) m = r;
      if (m === i) break;
      [heap[i], heap[m]] = [heap[m] as Entry, heap[i] as Entry];
      i = m;
    }
  }
}
