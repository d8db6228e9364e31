// The customId scheme: every action round-trips, stays within Discord's 100 characters, and
// anything that is not ours (another version, an unknown action, a mangled id) is refused.
import { describe, expect, it } from 'vitest';
import { CUSTOM_ID_ACTIONS, CUSTOM_ID_MAX, customId, parseCustomId } from '../../src/discord/custom-ids.js';

const JOB = 'Ab3_x-9QzKp0Lw';

describe('customId', () => {
  it.each(CUSTOM_ID_ACTIONS)('writes and reads back %s', (action) => {
    const id = customId(action, JOB);
    expect(id).toBe(`v1:${action}:${JOB}`);
    expect(parseCustomId(id)).toEqual({ action, jobId: JOB });
  });

  it('has the exact forms the buttons and the modal use', () => {
    expect(customId('cancel', JOB)).toBe('v1:cancel:Ab3_x-9QzKp0Lw');
    expect(customId('rerun', JOB)).toBe('v1:rerun:Ab3_x-9QzKp0Lw');
    expect(customId('edit', JOB)).toBe('v1:edit:Ab3_x-9QzKp0Lw');
    expect(customId('editsubmit', JOB)).toBe('v1:editsubmit:Ab3_x-9QzKp0Lw');
    expect(customId('delete', JOB)).toBe('v1:delete:Ab3_x-9QzKp0Lw');
  });

  it('stays within 100 characters for the longest action and the longest job id it accepts', () => {
    const id = customId('editsubmit', 'x'.repeat(64));
    expect(id.length).toBeLessThanOrEqual(CUSTOM_ID_MAX);
    expect(CUSTOM_ID_MAX).toBe(100);
  });

  it.each(['', 'a:b', 'x'.repeat(65), 'has space', 'colon:inside', 'ünïcode', '../../etc'])(
    'refuses to build one for the job id %j',
    (jobId) => {
      expect(() => customId('cancel', jobId)).toThrow();
    },
  );
});

describe('parseCustomId', () => {
  it.each([
    ['another version', `v2:cancel:${JOB}`],
    ['no version', `cancel:${JOB}`],
    ['an uppercase version', `V1:cancel:${JOB}`],
    ['an unknown action', `v1:explode:${JOB}`],
    ['an action in the wrong case', `v1:Cancel:${JOB}`],
    ['no job id', 'v1:cancel:'],
    ['an extra part', `v1:cancel:${JOB}:more`],
    ['a job id with a space', 'v1:cancel:abc def'],
    ['a job id that is too long', `v1:cancel:${'x'.repeat(65)}`],
    ['too long overall', `v1:cancel:${'x'.repeat(200)}`],
    ['an empty string', ''],
    ['a slash command name', 'animate'],
    ['a prototype key as the action', `v1:constructor:${JOB}`],
  ])('is undefined for %s', (_what, raw) => {
    expect(parseCustomId(raw)).toBeUndefined();
  });
});
