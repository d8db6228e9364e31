// A byte budget for media held in memory at once (downloaded videos, input images on their way
// to a provider): a caller leases the bytes it is about to hold and releases them when done, so a
// burst of finished jobs queues for memory instead of holding every video at the same moment.

export interface Lease {
  /** The bytes this lease holds (the request, or the whole budget when it asked for more). */
  readonly bytes: number;
  /** Gives the bytes back. Calling it again does nothing. */
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

  const lease = (bytes: number): Lease => {
    inUse += bytes;
    let released = false;
    return {
      bytes,
      release() {
        if (released) return;
        released = true;
        inUse -= bytes;
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
      if (queue.length === 0 && inUse + bytes <= totalBytes) return Promise.resolve(lease(bytes));
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
            resolve(lease(bytes));
          },
        };
        queue.push(waiter);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
  };
}
