// The media byte budget: FIFO grants, the whole budget for an oversized request, idempotent
// release, and aborted waiters dropped without holding back the queue.
import { describe, expect, it } from 'vitest';
import { createMediaBudget, type Lease } from '../../src/media/budget.js';

/** Lets every settled promise run its callbacks. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Records the order in which acquires resolve. */
function track(promise: Promise<Lease>, name: string, order: string[]): Promise<Lease> {
  return promise.then((lease) => {
    order.push(name);
    return lease;
  });
}

describe('media budget', () => {
  it('grants at once while the bytes are free and counts them', async () => {
    const budget = createMediaBudget(100);
    const a = await budget.acquire(60);
    const b = await budget.acquire(40);
    expect(budget.inUse).toBe(100);
    expect(budget.waiting).toBe(0);
    a.release();
    b.release();
    expect(budget.inUse).toBe(0);
  });

  it('makes a request wait until enough bytes are released', async () => {
    const budget = createMediaBudget(100);
    const a = await budget.acquire(80);
    const order: string[] = [];
    const b = track(budget.acquire(50), 'b', order);
    await settle();
    expect(order).toEqual([]);
    expect(budget.waiting).toBe(1);
    a.release();
    await b;
    expect(order).toEqual(['b']);
    expect(budget.inUse).toBe(50);
  });

  it('serves waiters first come first served, so small requests cannot starve a big one', async () => {
    const budget = createMediaBudget(100);
    const first = await budget.acquire(30);
    const order: string[] = [];
    const big = track(budget.acquire(100), 'big', order);
    // These would fit beside `first`, but the big request came earlier.
    const small1 = track(budget.acquire(10), 'small1', order);
    const small2 = track(budget.acquire(10), 'small2', order);
    await settle();
    expect(order).toEqual([]);
    expect(budget.waiting).toBe(3);
    first.release();
    (await big).release();
    await Promise.all([small1, small2]);
    expect(order).toEqual(['big', 'small1', 'small2']);
  });

  it('gives a request larger than the budget the whole budget, once everything else is released', async () => {
    const budget = createMediaBudget(100);
    const a = await budget.acquire(1);
    const order: string[] = [];
    const huge = track(budget.acquire(500), 'huge', order);
    await settle();
    expect(order).toEqual([]);
    a.release();
    const lease = await huge;
    expect(lease.bytes).toBe(100);
    expect(budget.inUse).toBe(100);
    lease.release();
    expect(budget.inUse).toBe(0);
  });

  it('ignores a second release', async () => {
    const budget = createMediaBudget(100);
    const a = await budget.acquire(60);
    const b = await budget.acquire(40);
    a.release();
    a.release();
    expect(budget.inUse).toBe(40);
    b.release();
    expect(budget.inUse).toBe(0);
  });

  it('drops an aborted waiter and lets the ones behind it through', async () => {
    const budget = createMediaBudget(100);
    const a = await budget.acquire(50);
    const abort = new AbortController();
    const order: string[] = [];
    const big = budget.acquire(100, abort.signal);
    const small = track(budget.acquire(50), 'small', order);
    await settle();
    expect(order).toEqual([]);
    abort.abort(new Error('gave up'));
    await expect(big).rejects.toThrow('gave up');
    await small;
    expect(order).toEqual(['small']);
    expect(budget.waiting).toBe(0);
    expect(budget.inUse).toBe(100);
    a.release();
    expect(budget.inUse).toBe(50);
  });

  it('refuses at once when the signal is already aborted', async () => {
    const budget = createMediaBudget(100);
    const signal = AbortSignal.abort(new Error('too late'));
    await expect(budget.acquire(10, signal)).rejects.toThrow('too late');
    expect(budget.inUse).toBe(0);
    expect(budget.waiting).toBe(0);
  });

  it('ignores an abort after the lease was granted', async () => {
    const budget = createMediaBudget(100);
    const abort = new AbortController();
    const lease = await budget.acquire(10, abort.signal);
    abort.abort();
    expect(budget.inUse).toBe(10);
    lease.release();
    expect(budget.inUse).toBe(0);
  });

  it('refuses nonsense sizes', async () => {
    expect(() => createMediaBudget(0)).toThrow(RangeError);
    const budget = createMediaBudget(100);
    await expect(budget.acquire(-1)).rejects.toThrow(RangeError);
    await expect(budget.acquire(Number.NaN)).rejects.toThrow(RangeError);
  });

  it('lends the same memory to the next lease once a buffer is released', async () => {
    const budget = createMediaBudget(8 * 1024 * 1024);
    const first = await budget.acquire(3_000_000);
    const a = first.buffer(3_000_000);
    a.fill(7);
    first.release();
    const second = await budget.acquire(2_500_000);
    const b = second.buffer(2_500_000);
    expect(b.length).toBe(2_500_000);
    expect(b.buffer).toBe(a.buffer);
    second.release();
  });

  it('never owns much more memory than the budget: unused buffers are dropped to make room', async () => {
    const MiB = 1024 * 1024;
    const budget = createMediaBudget(4 * MiB);
    const small = await budget.acquire(3 * MiB);
    const kept = small.buffer(3 * MiB);
    small.release();
    // A 4 MiB buffer does not fit beside the pooled 3 MiB one: that one is let go.
    const big = await budget.acquire(4 * MiB);
    expect(big.buffer(4 * MiB).buffer).not.toBe(kept.buffer);
    big.release();
    const again = await budget.acquire(3 * MiB);
    expect(again.buffer(3 * MiB).byteLength).toBe(3 * MiB);
    again.release();
  });

  it('gives a request larger than the budget memory of its own, and refuses a buffer larger than asked', async () => {
    const budget = createMediaBudget(1024 * 1024);
    const lease = await budget.acquire(3 * 1024 * 1024);
    expect(lease.buffer(2 * 1024 * 1024).length).toBe(2 * 1024 * 1024);
    expect(() => lease.buffer(4 * 1024 * 1024)).toThrow(RangeError);
    lease.release();
    expect(() => lease.buffer(1)).toThrow();
  });
});
