// Running-job slots on a shared Redis: a member's limit and a provider's cap counted across every
// process, each claim one Lua script; a slot whose job has finished is freed by the next claim, so
// a lost release cannot keep a member waiting.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createJobStore } from '../../src/store/jobs.js';
import type { OpenedStore } from '../../src/store/keyv.js';
import { LOCAL_SLOTS } from '../../src/store/slots.js';
import { makeJob } from '../fixtures/job.js';
import { openRedisStore, redisAvailable, stopRedis } from './backends.js';

afterAll(stopRedis);

const openRedis = () => openRedisStore();

it('on SQLite every claim passes: the one process decides alone', async () => {
  expect(await LOCAL_SLOTS.claim({ jobId: 'a', member: 'g:u', limit: 1, provider: 'wavespeed' })).toBe(true);
});

describe.runIf(redisAvailable() || process.env.CI)('slots on Redis', () => {
  const opened: OpenedStore[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });
  const two = async () => {
    const a = await openRedis();
    const b = await openRedis();
    opened.push(a, b);
    await a.keyv.clear();
    return [a, b] as const;
  };
  const claim = (jobId: string, extra: { member?: string; limit?: number; cap?: number } = {}) => ({
    jobId,
    member: extra.member ?? 'g:ann',
    limit: extra.limit ?? 1,
    provider: 'wavespeed',
    ...(extra.cap !== undefined ? { cap: extra.cap } : {}),
  });

  it("counts a member's running jobs across two clients, and a release frees the slot", async () => {
    const [a, b] = await two();
    await createJobStore(a.keyv).create(makeJob({ id: 'j1', state: 'accepted' }));
    expect(await a.slots.claim(claim('j1'))).toBe(true);
    expect(await a.slots.claim(claim('j1'))).toBe(true); // idempotent
    expect(await b.slots.claim(claim('j2'))).toBe(false);
    expect(await b.slots.claim(claim('j3', { member: 'g:bob' }))).toBe(true);
    await a.slots.release('j1', 'g:ann');
    expect(await b.slots.claim(claim('j2'))).toBe(true);
  });

  it("keeps a provider's cap across members", async () => {
    const [a, b] = await two();
    const jobs = createJobStore(a.keyv);
    for (const id of ['p1', 'p2']) await jobs.create(makeJob({ id, state: 'accepted' }));
    expect(await a.slots.claim(claim('p1', { member: 'g:ann', limit: 5, cap: 2 }))).toBe(true);
    expect(await b.slots.claim(claim('p2', { member: 'g:bob', limit: 5, cap: 2 }))).toBe(true);
    expect(await b.slots.claim(claim('p3', { member: 'g:cy', limit: 5, cap: 2 }))).toBe(false);
  });

  it('frees a slot whose job finished without releasing it (a release lost, a process gone)', async () => {
    const [a, b] = await two();
    const jobs = createJobStore(a.keyv);
    const job = makeJob({ id: 'done1', state: 'submitted' });
    await jobs.create(job);
    expect(await a.slots.claim(claim('done1'))).toBe(true);
    expect(await b.slots.claim(claim('next1'))).toBe(false); // still running
    await jobs.save({ ...job, state: 'delivered', finishedAt: 9 });
    expect(await b.slots.claim(claim('next1'))).toBe(true);
  });

  it('a job restored at start holds its slot whatever the limit', async () => {
    const [a, b] = await two();
    await createJobStore(a.keyv).create(makeJob({ id: 'r1', state: 'submitted' }));
    await createJobStore(a.keyv).create(makeJob({ id: 'r2', state: 'submitted' }));
    await a.slots.restore({ jobId: 'r1', member: 'g:ann', provider: 'wavespeed' });
    await a.slots.restore({ jobId: 'r2', member: 'g:ann', provider: 'wavespeed' });
    expect(await b.slots.claim(claim('r3', { limit: 2 }))).toBe(false);
  });
});
