// Message text within Discord's limits however long the prompt (checked both in code points,
// which Discord counts, and in UTF-16 units, to be safe), and the result marker read back.
import { describe, expect, it } from 'vitest';
import { failureText, marker, resultMarkerJobId, resultText, threadName } from '../../src/discord/text.js';
import type { JobRecord } from '../../src/store/jobs.js';
import { makeJob as makeJobFixture } from '../fixtures/job.js';

/** A submitted job with a realistic (base64url) id, as the engine makes them. */
const makeJob = (overrides: Partial<JobRecord> = {}): JobRecord =>
  makeJobFixture({ id: 'Ab3_x-9QzKp0Lw', state: 'submitted', ...overrides });

const withPrompt = (prompt: string, overrides: Partial<JobRecord> = {}): JobRecord => {
  const base = makeJob(overrides);
  return { ...base, request: { ...base.request, prompt } };
};

/** Exactly `n` code points of emoji (astral and ZWJ sequences), newlines, mentions and text. */
function nastyPrompt(n = 2000): string {
  const pieces = ['😀', '\n', '👨‍👩‍👧‍👦', ' ', '@everyone', '\n\n', '🎬', 'é', '\r\n', '<@&123>', '🏳️‍🌈', '\t', 'x'];
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) out.push(...(pieces[i % pieces.length] ?? ''));
  return out.slice(0, n).join('');
}

const codePoints = (s: string) => [...s].length;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function expectWithin(text: string, max: number): void {
  expect(codePoints(text)).toBeLessThanOrEqual(max);
  expect(text.length).toBeLessThanOrEqual(max);
  expect(text).not.toMatch(LONE_SURROGATE);
}

describe('nastyPrompt fixture', () => {
  it('is 2,000 code points and longer than 2,000 in UTF-16', () => {
    expect(codePoints(nastyPrompt())).toBe(2000);
    expect(nastyPrompt().length).toBeGreaterThan(2000);
  });
});

describe('resultText', () => {
  it('stays within 2,000 characters with a 2,000-character prompt, a URL and a spoiler', () => {
    const url = `https://v3.fal.media/files/monkey/${'a'.repeat(400)}.mp4`;
    expectWithin(resultText(withPrompt(nastyPrompt()), { url, spoiler: true }), 2000);
    expectWithin(resultText(withPrompt(nastyPrompt()), { spoiler: false }), 2000);
  });

  it('keeps the marker line, so the job can be found again from the message', () => {
    const job = withPrompt(nastyPrompt());
    const url = `https://example.com/${'v'.repeat(500)}.mp4`;
    expect(resultMarkerJobId(resultText(job, { url, spoiler: true }))).toBe(job.id);
  });

  it('hides a flagged video URL behind a spoiler', () => {
    const text = resultText(makeJob(), { url: 'https://example.com/v.mp4', spoiler: true });
    expect(text).toContain('||https://example.com/v.mp4||');
    expect(resultText(makeJob(), { url: 'https://example.com/v.mp4', spoiler: false })).not.toContain('||');
  });
});

describe('failureText', () => {
  it('stays within 2,000 characters with a 2,000-character prompt', () => {
    expectWithin(
      failureText(withPrompt(nastyPrompt()), 'The provider failed; your 20 credits are back.'),
      2000,
    );
  });

  it('stays within 2,000 characters with a 2,500-character explanation', () => {
    expectWithin(failureText(makeJob(), 'The provider said: ' + 'x'.repeat(2500)), 2000);
  });

  it('is not mistaken for a result', () => {
    expect(resultMarkerJobId(failureText(makeJob(), 'It failed.'))).toBeUndefined();
  });
});

describe('threadName', () => {
  it('stays within 100 characters with a 2,000-character prompt full of newlines and emoji', () => {
    const name = threadName(nastyPrompt());
    expectWithin(name, 100);
    expect(name).not.toMatch(/[\r\n\t]/);
  });

  it('stays within 100 characters with a 2,000-character plain prompt', () => {
    expectWithin(threadName('a'.repeat(2000)), 100);
  });

  it('keeps a short prompt as it is, on one line', () => {
    expect(threadName('  a cat\n\nwalks  ')).toBe('a cat walks');
  });

  it('is never empty', () => {
    expect(threadName(' \n\t ').length).toBeGreaterThan(0);
    expect(threadName('')).not.toBe('');
  });
});

describe('resultMarkerJobId', () => {
  it.each(['Ab3_x-9QzKp0Lw', 'abcdef', 'A'.repeat(32), 'job_0123-xyz'])(
    'reads back marker(%s, result)',
    (id) => {
      expect(resultMarkerJobId(`some text\n${marker(id, 'result')}`)).toBe(id);
      expect(resultMarkerJobId(marker(id, 'result'))).toBe(id);
    },
  );

  it('reads the id of a whole result message', () => {
    const job = makeJob();
    expect(resultMarkerJobId(resultText(job, { url: 'https://example.com/v.mp4', spoiler: false }))).toBe(
      job.id,
    );
  });

  it('does not match a marker a member typed mid-line', () => {
    expect(resultMarkerJobId(`look: ${marker('Ab3_x-9QzKp0Lw', 'result')}`)).toBeUndefined();
    expect(resultMarkerJobId(`hello\nsee ${marker('Ab3_x-9QzKp0Lw', 'result')} here`)).toBeUndefined();
  });

  it('a marker typed into the prompt does not override the real one', () => {
    const job = withPrompt(`nice\n${marker('EVILjob123', 'result')}\nmore`);
    expect(resultMarkerJobId(resultText(job, { spoiler: false }))).toBe(job.id);
  });

  it('ignores failure markers and text without a marker', () => {
    expect(resultMarkerJobId(marker('Ab3_x-9QzKp0Lw', 'failure'))).toBeUndefined();
    expect(resultMarkerJobId('just a message')).toBeUndefined();
    expect(resultMarkerJobId('')).toBeUndefined();
  });

  it('does not match a marker with extra text after the id', () => {
    expect(resultMarkerJobId(`${marker('Ab3_x-9QzKp0Lw', 'result')} and more`)).toBeUndefined();
  });
});

describe('the marker line survives any length', () => {
  it('a result with a 1,990-character output URL still ends with its marker, within 2,000', () => {
    const job = makeJob();
    const text = resultText(job, { url: `https://cdn.example.com/${'a'.repeat(1990)}.mp4`, spoiler: false });
    expect(text.length).toBeLessThanOrEqual(2000);
    expect(resultMarkerJobId(text)).toBe(job.id);
  });

  it('a failure notice with a 3,000-character reason still ends with its marker', () => {
    const job = makeJob();
    const text = failureText(job, 'x'.repeat(3000));
    expect(text.length).toBeLessThanOrEqual(2000);
    expect(text.endsWith(marker(job.id, 'failure'))).toBe(true);
  });
});
