import { describe, expect, it } from 'vitest';
import { Admission } from '../../src/engine/admission.js';
import type { ModelId } from '../../src/providers/catalog.js';
import type { JobRecord } from '../../src/store/jobs.js';
import { makeJob } from '../fixtures/job.js';

const job = (
  userId: string,
  state: JobRecord['state'] = 'accepted',
  model: ModelId = 'wavespeed/ray-2-flash',
): JobRecord => makeJob({ userId, state, model });

/** Records `jobs` as loaded from the store (running unless waiting). */
function restored(a: Admission, ...jobs: JobRecord[]): Admission {
  for (const j of jobs) a.restore(j);
  return a;
}

describe('Admission', () => {
  it('lets a member run up to the limit and makes the next request wait', () => {
    const a = restored(
      new Admission({ maxActivePerMember: 2, providerCaps: {} }),
      job('ann', 'submitted'),
      job('ann', 'accepted'),
    );
    expect(a.admit(job('ann'))).toBe('wait');
    expect(a.admit(job('bob'))).toBe('run');
  });

  it("counts a member's jobs per server, each server with its own limit", () => {
    const a = new Admission({ maxActivePerMember: 1, providerCaps: {} });
    const inGuild = (guildId: string | null) => makeJob({ userId: 'ann', guildId });
    // Server A keeps the default (1); server B set `limit` 2; DMs are a space of their own.
    expect(a.admit(inGuild('A'))).toBe('run');
    expect(a.admit(inGuild('A'))).toBe('wait');
    expect(a.admit(inGuild('B'), 2)).toBe('run');
    expect(a.admit(inGuild('B'), 2)).toBe('run');
    expect(a.admit(inGuild('B'), 2)).toBe('wait');
    expect(a.admit(inGuild(null))).toBe('run');
  });

  it("applies a raised limit to the member's waiting job first: a newer request does not overtake it", () => {
    const a = new Admission({ maxActivePerMember: 1, providerCaps: {} });
    const first = makeJob({ userId: 'ann' });
    const second = makeJob({ userId: 'ann' });
    expect(a.admit(first, 1)).toBe('run');
    expect(a.admit(second, 1)).toBe('wait');
    // The server's limit goes up to 2: the waiting `second` takes the room, not the newcomer.
    expect(a.admit(makeJob({ userId: 'ann' }), 2)).toBe('wait');
    expect(a.next()).toBe(second.id);
  });

  it('decides each of many simultaneous requests against the ones admitted before it', () => {
    const a = new Admission({ maxActivePerMember: 1, providerCaps: {} });
    const lanes = Array.from({ length: 10 }, () => a.admit(job('ann')));
    expect(lanes.filter((l) => l === 'run')).toHaveLength(1);
  });

  it('does not count waiting jobs as running', () => {
    const a = restored(
      new Admission({ maxActivePerMember: 1, providerCaps: {} }),
      job('ann', 'waiting'),
      job('ann', 'waiting'),
    );
    expect(a.next()).toBeDefined();
    expect(a.next()).toBeUndefined();
  });

  it('respects a per-provider cap and leaves the other provider free', () => {
    const a = restored(
      new Admission({ maxActivePerMember: 5, providerCaps: { wavespeed: 1 } }),
      job('ann', 'submitted'),
    );
    expect(a.admit(job('bob'))).toBe('wait');
    expect(a.admit(job('bob', 'accepted', 'fal/ray-2-flash'))).toBe('run');
  });

  it('makes a new request wait behind others already waiting for a capped provider', () => {
    const a = new Admission({ maxActivePerMember: 5, providerCaps: { wavespeed: 1 } });
    const first = job('ann');
    expect(a.admit(first)).toBe('run');
    expect(a.admit(job('bob'))).toBe('wait');
    a.release(first.id);
    // A slot is free, but Bob was first in line: Cid waits, and Bob is the one started.
    const cid = job('cid');
    expect(a.admit(cid)).toBe('wait');
    expect(a.next()).not.toBe(cid.id);
  });

  it('moves a running job to another provider only when that provider has room', () => {
    const a = new Admission({ maxActivePerMember: 5, providerCaps: { fal: 1 } });
    const onFal = job('ann', 'accepted', 'fal/ray-2-flash');
    const moving = job('bob');
    a.admit(onFal);
    a.admit(moving);
    expect(a.move(moving.id, 'fal')).toBe(false);
    a.release(onFal.id);
    expect(a.move(moving.id, 'fal')).toBe(true);
    // It now holds the fal slot.
    expect(a.admit(job('cid', 'accepted', 'fal/ray-2-flash'))).toBe('wait');
  });

  it('serves members round-robin, not first come first served', () => {
    const a = new Admission({ maxActivePerMember: 5, providerCaps: { wavespeed: 1 } });
    // Ann queued three jobs before Bob and Cid queued one each.
    const queued = [job('ann'), job('ann'), job('ann'), job('bob'), job('cid')];
    const byId = new Map(queued.map((j) => [j.id, j]));
    restored(a, ...queued.map((j) => ({ ...j, state: 'waiting' as const })));
    const served: string[] = [];
    for (let i = 0; i < 5; i++) {
      const next = a.next();
      if (!next) break;
      served.push(byId.get(next)?.userId ?? '?');
      // It ran and finished: its slot frees.
      a.release(next);
    }
    expect(served).toEqual(['ann', 'bob', 'cid', 'ann', 'ann']);
  });

  it('reports places in line in the order they would be served', () => {
    const ann1 = job('ann', 'waiting');
    const ann2 = job('ann', 'waiting');
    const bob1 = job('bob', 'waiting');
    const places = restored(
      new Admission({ maxActivePerMember: 1, providerCaps: {} }),
      ann1,
      ann2,
      bob1,
    ).positions();
    expect(places.get(ann1.id)).toBe(1);
    expect(places.get(bob1.id)).toBe(2);
    expect(places.get(ann2.id)).toBe(3);
  });

  it('forgets a member with no open jobs, so a returning member counts as not recently served', () => {
    const a = new Admission({ maxActivePerMember: 5, providerCaps: { wavespeed: 1 } });
    const bobFirst = job('bob');
    const annSecond = job('ann');
    a.admit(bobFirst);
    a.release(bobFirst.id);
    a.admit(annSecond); // Ann was served after Bob, and still has a job open.
    const bobJob = job('bob');
    const annJob = job('ann');
    restored(a, { ...annJob, state: 'waiting' }, { ...bobJob, state: 'waiting' });
    a.release(annSecond.id);
    // Ann still has a job open, so her turn is remembered: Bob goes first.
    expect(a.next()).toBe(bobJob.id);

    const b = new Admission({ maxActivePerMember: 5, providerCaps: {} });
    const ann = job('ann');
    b.admit(job('bob')); // Bob is served first and keeps his job open.
    b.admit(ann);
    b.release(ann.id); // Ann has nothing open any more: forgotten, she is new again.
    const bob2 = job('bob');
    const ann2 = job('ann');
    restored(b, { ...bob2, state: 'waiting' }, { ...ann2, state: 'waiting' });
    expect(b.next()).toBe(ann2.id);
  });

  it('returns nothing when no waiting job may start', () => {
    const a = restored(
      new Admission({ maxActivePerMember: 1, providerCaps: {} }),
      job('ann', 'submitted'),
      job('ann', 'waiting'),
    );
    expect(a.next()).toBeUndefined();
  });
});
