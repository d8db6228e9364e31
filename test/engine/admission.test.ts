import { describe, expect, it } from 'vitest';
import { Admission } from '../../src/engine/admission.js';
import type { ModelId } from '../../src/providers/catalog.js';
import type { JobRecord } from '../../src/store/jobs.js';
import { makeJob } from '../fixtures/job.js';

const job = (
  userId: string,
  state: JobRecord['state'],
  model: ModelId = 'wavespeed/ray-2-flash',
): JobRecord => makeJob({ userId, state, model });

describe('Admission', () => {
  it('lets a member run up to the limit and makes the next request wait', () => {
    const a = new Admission({ maxActivePerMember: 2, providerCaps: {} });
    const open = [job('ann', 'submitted'), job('ann', 'accepted')];
    const third = job('ann', 'accepted');
    expect(a.shouldWait(third, open)).toBe(true);
    expect(a.shouldWait(job('bob', 'accepted'), open)).toBe(false);
  });

  it('does not count waiting jobs as running', () => {
    const a = new Admission({ maxActivePerMember: 1, providerCaps: {} });
    const open = [job('ann', 'waiting'), job('ann', 'waiting')];
    expect(a.canStart(open[0] as JobRecord, open)).toBe(true);
  });

  it('respects a per-provider cap and leaves the other provider free', () => {
    const a = new Admission({ maxActivePerMember: 5, providerCaps: { wavespeed: 1 } });
    const open = [job('ann', 'submitted')];
    expect(a.shouldWait(job('bob', 'accepted'), open)).toBe(true);
    expect(a.shouldWait(job('bob', 'accepted', 'fal/ray-2-flash'), open)).toBe(false);
  });

  it('serves members round-robin, not first come first served', () => {
    const a = new Admission({ maxActivePerMember: 5, providerCaps: { wavespeed: 1 } });
    // Ann queued three jobs before Bob and Cid queued one each.
    const open = [
      job('ann', 'waiting'),
      job('ann', 'waiting'),
      job('ann', 'waiting'),
      job('bob', 'waiting'),
      job('cid', 'waiting'),
    ];
    const served: string[] = [];
    for (let i = 0; i < 5; i++) {
      const next = a.next(open);
      if (!next) break;
      served.push(next.userId);
      // It ran and finished: take it out of the queue.
      open.splice(open.indexOf(next), 1);
    }
    expect(served).toEqual(['ann', 'bob', 'cid', 'ann', 'ann']);
  });

  it('reports places in line in the order they would be served', () => {
    const a = new Admission({ maxActivePerMember: 1, providerCaps: {} });
    const ann1 = job('ann', 'waiting');
    const ann2 = job('ann', 'waiting');
    const bob1 = job('bob', 'waiting');
    const places = a.positions([ann1, ann2, bob1]);
    expect(places.get(ann1.id)).toBe(1);
    expect(places.get(bob1.id)).toBe(2);
    expect(places.get(ann2.id)).toBe(3);
  });

  it('forgets a member with no open jobs, so a returning member counts as not recently served', () => {
    const serve = (a: Admission, userId: string) => a.next([job(userId, 'waiting')]);
    const remembering = new Admission({ maxActivePerMember: 5, providerCaps: {} });
    const forgetting = new Admission({ maxActivePerMember: 5, providerCaps: {} });
    for (const a of [remembering, forgetting]) {
      serve(a, 'bob');
      serve(a, 'ann'); // Ann was served after Bob.
    }
    forgetting.forget('ann', []); // Ann has nothing open any more.
    const bobJob = job('bob', 'waiting');
    const annJob = job('ann', 'waiting');
    // Remembered, Ann was served more recently, so Bob goes first; forgotten, Ann is new again.
    expect(remembering.next([bobJob, annJob])?.userId).toBe('bob');
    expect(forgetting.next([bobJob, annJob])?.userId).toBe('ann');
    // A member with a job still open is not forgotten.
    const keeping = new Admission({ maxActivePerMember: 5, providerCaps: {} });
    serve(keeping, 'bob');
    serve(keeping, 'ann');
    keeping.forget('ann', [job('ann', 'submitted')]);
    expect(keeping.next([bobJob, annJob])?.userId).toBe('bob');
  });

  it('returns nothing when no waiting job may start', () => {
    const a = new Admission({ maxActivePerMember: 1, providerCaps: {} });
    expect(a.next([job('ann', 'submitted'), job('ann', 'waiting')])).toBeUndefined();
  });
});
