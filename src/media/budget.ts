// A byte budget for media held in memory at once (downloaded videos, input images on their way
// to a provider): a caller leases the bytes it is about to hold and releases them when done, so a
// burst of finished jobs queues for memory instead of holding every video at the same moment.
//
// A lease can also hand out the memory itself (`buffer`), from a pool the budget keeps: a video
// delivered and released leaves its buffer for the next one, so a steady stream of deliveries
// reuses the same few buffers instead of leaving one garbage buffer per video for the garbage
// collector to find (under a burst, that garbage, not the live videos, was most of the RSS).

export interface Lease {
  /** The bytes this lease holds (the request, or the whole budget when it asked for more). */
  readonly bytes: number;
  /**
   * Memory for `length` bytes (at most what was asked for), from the budget's pool. Valid until
   * `release`: after that the same memory goes to another lease, so release only once done.
   */
  buffer(length: number): Buffer;
  /** Gives the bytes back (and the buffer to the pool). Calling it again does nothing. */
  release(): void;
}

export interface MediaBudget {
  readonly totalBytes: number;
  /** Bytes held by leases right now. */
  readonly inUse: number;
  /** Requests waiting for bytes. */
  readonly waiting: number;
  /**
   * Resolves once `bytes` are free, in the order requests arrived: a large request at the head
   * holds back smaller ones behind it, so a stream of small ones cannot starve it. A request
   * larger than the whole budget gets the whole budget. Aborting `signal` drops the request and
   * rejects with the signal's reason.
   */
  acquire(bytes: number, signal?: AbortSignal): Promise<Lease>;
}

/** Pooled buffers are whole multiples of this, so a slightly larger video can reuse a buffer. */
const POOL_GRAIN = 1024 * 1024;

interface Waiter {
  bytes: number;
  grant: () => void;
}

export function createMediaBudget(totalBytes: number): MediaBudget {
  if (!Number.isSafeInteger(totalBytes) || totalBytes <= 0) {
    throw new RangeError(`a media budget needs a positive whole number of bytes, not ${totalBytes}`);
  }
  let inUse = 0;
  const queue: Waiter[] = [];

  /** Free buffers, and the bytes of all buffers the pool made and still owns (free or lent). */
  const free: ArrayBuffer[] = [];
  let pooled = 0;

  function take(length: number): ArrayBuffer {
    const capacity = Math.max(POOL_GRAIN, Math.ceil(length / POOL_GRAIN) * POOL_GRAIN);
    let best = -1;
    for (let i = 0; i < free.length; i++) {
      const size = free[i]!.byteLength;
      if (size >= capacity && (best < 0 || size < free[best]!.byteLength)) best = i;
    }
    if (best >= 0) return free.splice(best, 1)[0]!;
    // Make room: the pool never owns much more than the budget (each buffer rounds up a grain).
    while (free.length > 0 && pooled + capacity > totalBytes) pooled -= free.shift()!.byteLength;
    pooled += capacity;
    return new ArrayBuffer(capacity);
  }

  /** A lease of `bytes` (of the budget) for a request of `requested` bytes. */
  const lease = (bytes: number, requested: number): Lease => {
    inUse += bytes;
    let released = false;
    let lent: ArrayBuffer | undefined;
    return {
      bytes,
      buffer(length) {
        if (released) throw new Error('buffer() after release()');
        if (length > requested)
          throw new RangeError(`a lease for ${requested} bytes has no room for ${length}`);
        // Small ones are cheap garbage; larger than the whole budget (it was granted all of it)
        // cannot be pooled: both get memory of their own.
        if (length < POOL_GRAIN || length > totalBytes) return Buffer.allocUnsafeSlow(length);
        lent ??= take(length);
        return Buffer.from(lent, 0, length);
      },
      release() {
        if (released) return;
        released = true;
        inUse -= bytes;
        if (lent) free.push(lent);
        drain();
      },
    };
  };

  /** Grants waiters from the head while they fit; stops at the first that does not (FIFO). */
  function drain(): void {
    for (let head = queue[0]; head && inUse + head.bytes <= totalBytes; head = queue[0]) {
      queue.shift();
      head.grant();
    }
  }

  return {
    totalBytes,
    get inUse() {
      return inUse;
    },
    get waiting() {
      return queue.length;
    },
    acquire(requested, signal) {
      if (!Number.isFinite(requested) || requested < 0) {
        return Promise.reject(new RangeError(`cannot lease ${requested} bytes`));
      }
      if (signal?.aborted) return Promise.reject(signal.reason as Error);
      const bytes = Math.min(Math.ceil(requested), totalBytes);
      if (queue.length === 0 && inUse + bytes <= totalBytes) return Promise.resolve(lease(bytes, requested));
      return new Promise<Lease>((resolve, reject) => {
        const onAbort = () => {
          const at = queue.indexOf(waiter);
          if (at >= 0) queue.splice(at, 1);
          reject(signal?.reason as Error);
          // The dropped request may have been the head holding everyone else back.
          drain();
        };
        const waiter: Waiter = {
          bytes,
          grant: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve(lease(bytes, requested));
          },
        };
        queue.push(waiter);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
  };
}
