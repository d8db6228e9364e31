// UTC period ids and bounds, with the ISO week cases that trip up hand-rolled week numbers.
import { describe, expect, it } from 'vitest';
import { isoWeek, nextPeriodStart, periodId, periodStart } from '../../src/store/periods.js';

const at = (iso: string): number => Date.parse(iso);

describe('periodId', () => {
  it('names days, ISO weeks and months in UTC', () => {
    const t = at('2026-12-02T23:59:59.999Z');
    expect(periodId('day', t)).toBe('d2026-12-02');
    expect(periodId('week', t)).toBe('w2026-W49');
    expect(periodId('month', t)).toBe('m2026-12');
    expect(periodId('day', at('2026-12-03T00:00:00Z'))).toBe('d2026-12-03');
  });

  it.each([
    // [date, ISO week id] checked against `date -u +%G-W%V`
    ['2027-01-01', 'w2026-W53'], // Friday: week 53 of the year before
    ['2027-01-03', 'w2026-W53'], // Sunday: still the year before
    ['2027-01-04', 'w2027-W01'], // Monday: the new week-year starts
    ['2021-01-01', 'w2020-W53'],
    ['2022-01-01', 'w2021-W52'], // Saturday: week 52 of the year before
    ['2024-12-31', 'w2025-W01'], // Tuesday: week 1 of the year after
    ['2025-12-29', 'w2026-W01'], // Monday: week 1 of the year after
    ['2026-12-31', 'w2026-W53'],
    ['2015-12-31', 'w2015-W53'],
    ['2016-01-03', 'w2015-W53'],
    ['2026-01-01', 'w2026-W01'], // Thursday: week 1 of its own year
  ])('%s is in %s', (date, id) => {
    expect(periodId('week', at(`${date}T12:00:00Z`))).toBe(id);
    expect(periodId('week', at(`${date}T00:00:00Z`))).toBe(id);
    expect(periodId('week', at(`${date}T23:59:59.999Z`))).toBe(id);
  });

  it('isoWeek gives the week-year and number', () => {
    expect(isoWeek(at('2027-01-01T00:00:00Z'))).toEqual({ year: 2026, week: 53 });
    expect(isoWeek(at('2024-12-30T00:00:00Z'))).toEqual({ year: 2025, week: 1 });
  });

  it('rejects a time that is not a number', () => {
    expect(() => periodId('day', Number.NaN)).toThrow(RangeError);
  });
});

describe('periodStart and nextPeriodStart', () => {
  it('days start at midnight UTC', () => {
    const t = at('2026-12-02T15:30:00Z');
    expect(periodStart('day', t)).toBe(at('2026-12-02T00:00:00Z'));
    expect(nextPeriodStart('day', t)).toBe(at('2026-12-03T00:00:00Z'));
  });

  it('weeks start on Monday, across a year boundary', () => {
    // Friday 1 January 2027 is in the week that began on Monday 28 December 2026.
    const t = at('2027-01-01T08:00:00Z');
    expect(periodStart('week', t)).toBe(at('2026-12-28T00:00:00Z'));
    expect(nextPeriodStart('week', t)).toBe(at('2027-01-04T00:00:00Z'));
    // A Monday is the start of its own week; a Sunday is the last day of the week before.
    expect(periodStart('week', at('2026-11-30T00:00:00Z'))).toBe(at('2026-11-30T00:00:00Z'));
    expect(periodStart('week', at('2026-12-06T23:59:59Z'))).toBe(at('2026-11-30T00:00:00Z'));
  });

  it('months start on the 1st, December rolls into January, February is short', () => {
    expect(periodStart('month', at('2026-12-31T23:00:00Z'))).toBe(at('2026-12-01T00:00:00Z'));
    expect(nextPeriodStart('month', at('2026-12-31T23:00:00Z'))).toBe(at('2027-01-01T00:00:00Z'));
    expect(nextPeriodStart('month', at('2028-02-29T12:00:00Z'))).toBe(at('2028-03-01T00:00:00Z'));
  });

  it('every instant lies in [start, next) and the next period has a different id', () => {
    for (const period of ['day', 'week', 'month'] as const) {
      for (let t = at('2026-12-20T00:00:00Z'); t < at('2027-01-15T00:00:00Z'); t += 3_599_999) {
        const start = periodStart(period, t);
        const next = nextPeriodStart(period, t);
        expect(start).toBeLessThanOrEqual(t);
        expect(next).toBeGreaterThan(t);
        expect(periodId(period, start)).toBe(periodId(period, t));
        expect(periodId(period, next - 1)).toBe(periodId(period, t));
        expect(periodId(period, next)).not.toBe(periodId(period, t));
      }
    }
  });
});
