// The in-memory interaction registry hands out an interaction only while its token still works.
import { describe, expect, it } from 'vitest';
import { createFollowUps, type FollowUpTarget } from '../../src/discord/followups.js';

const target = (createdTimestamp: number): FollowUpTarget => ({
  createdTimestamp,
  followUp: () => Promise.reject(new Error('not called here')),
});

describe('follow-up registry', () => {
  it('keeps an interaction for 14 of its 15 minutes, then forgets it', () => {
    let now = 1_000_000;
    const followUps = createFollowUps(() => now);
    const interaction = target(now);
    followUps.remember('job1', interaction);
    now += 13 * 60_000;
    expect(followUps.get('job1')).toBe(interaction);
    now += 61_000;
    expect(followUps.get('job1')).toBeUndefined();
    expect(followUps.get('never')).toBeUndefined();
  });
});
