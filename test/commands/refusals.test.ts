// The sentences of the refusals a server's rules and money add: each says what it must (the
// balance and price, when the allowance tops up or that an admin can grant more, when a cap resets).
import { describe, expect, it } from 'vitest';
import { failureMessage } from '../../src/failures.js';

const at = Date.UTC(2025, 4, 15);

describe('refusal sentences', () => {
  it('not enough credits: balance, price, and when the allowance next tops up', () => {
    const text = failureMessage({ code: 'insufficient_credits', price: 40, balance: 12, allowanceAt: at });
    expect(text).toContain('costs 40 credits and you have 12');
    expect(text).toContain(`tops you up again <t:${at / 1000}:R>`);
    expect(text).toContain('Nothing was charged.');
  });

  it('not enough credits without an allowance: an admin can grant more; a rerun says so too', () => {
    expect(failureMessage({ code: 'insufficient_credits', price: 40, balance: 12 })).toContain(
      'A server admin can grant you more.',
    );
    const rerun = failureMessage({ code: 'insufficient_credits', price: 40, balance: 12, rerun: true });
    expect(rerun).toContain('nothing was started or charged');
    expect(rerun).toContain('A server admin can grant you more.');
  });

  it('the server cap: when it resets', () => {
    const text = failureMessage({ code: 'server_cap', resetsAt: at });
    expect(text).toContain(`resets <t:${at / 1000}:R>`);
    expect(failureMessage({ code: 'server_cap', resetsAt: at, rerun: true })).toContain(
      'so the rerun was not started',
    );
  });

  it('a long channel list is named in part, within one message', () => {
    const channels = Array.from({ length: 25 }, (_, i) => String(100000000000000000n + BigInt(i)));
    const text = failureMessage({ code: 'channel_not_allowed', channels });
    expect(text).toContain('and 15 more');
    expect(text.length).toBeLessThan(2000);
  });
});
