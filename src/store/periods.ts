// UTC calendar periods for allowances and spend caps (docs/economy.md, "Periods"). A period has an
// id that names it (`d2026-12-02`, `w2026-W49`, `m2026-12`): the allowance marker and the cap
// counter's key both use it, so "has this period's allowance been paid" and "which counter does
// this hold count against" are string comparisons. Weeks are ISO weeks: they start on Monday and
// belong to the ISO week-year of their Thursday, so 1 January can be in week 52/53 of the year
// before and 31 December in week 1 of the year after.
import type { Period } from './economy.js';

const DAY_MS = 86_400_000;

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

function check(at: number): Date {
  if (!Number.isFinite(at)) throw new RangeError(`bad time ${at}`);
  return new Date(at);
}

/** Midnight UTC of the day containing `at`. */
function dayStart(at: number): number {
  const d = check(at);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

/** The ISO week-year and week number of the day containing `at`. */
export function isoWeek(at: number): { year: number; week: number } {
  const start = dayStart(at);
  const weekday = (new Date(start).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  // The week belongs to the year of its Thursday.
  const thursday = start + (3 - weekday) * DAY_MS;
  const year = new Date(thursday).getUTCFullYear();
  const week = Math.floor((thursday - Date.UTC(year, 0, 1)) / DAY_MS / 7) + 1;
  return { year, week };
}

export function periodId(period: Period, at: number): string {
  const d = check(at);
  switch (period) {
    case 'day':
      return `d${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
    case 'week': {
      const { year, week } = isoWeek(at);
      return `w${year}-W${pad(week)}`;
    }
    case 'month':
      return `m${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}`;
  }
}

/** The first millisecond (UTC) of the period containing `at`. */
export function periodStart(period: Period, at: number): number {
  const start = dayStart(at);
  switch (period) {
    case 'day':
      return start;
    case 'week':
      return start - ((new Date(start).getUTCDay() + 6) % 7) * DAY_MS;
    case 'month': {
      const d = new Date(start);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    }
  }
}

/** The first millisecond (UTC) of the period after the one containing `at`: when a cap resets. */
export function nextPeriodStart(period: Period, at: number): number {
  const start = periodStart(period, at);
  switch (period) {
    case 'day':
      return start + DAY_MS;
    case 'week':
      return start + 7 * DAY_MS;
    case 'month': {
      const d = new Date(start);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    }
  }
}
