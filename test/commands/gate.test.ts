// The gate: a server's rules for /animate and reruns, each refusing with its own failure, in a
// fixed order; a thread counts as its parent channel; the prompt blocklist's words and regexes.
import { describe, expect, it } from 'vitest';
import { blocklistMatch, checkGate, patternProblem, type GateRequest } from '../../src/commands/gate.js';
import { failureMessage } from '../../src/failures.js';
import { NO_SETTINGS, type GuildSettings } from '../../src/store/guild-settings.js';

const rules = (patch: Partial<GuildSettings>): GuildSettings => ({ ...NO_SETTINGS, ...patch });
const request = (patch: Partial<GateRequest> = {}): GateRequest => ({
  userId: 'u1',
  channelId: 'c1',
  roleIds: new Set(['g1']),
  model: 'wavespeed/ray-2-flash',
  prompt: 'a cat blinks',
  ...patch,
});

describe('checkGate', () => {
  it('lets everything through with no rules', () => {
    expect(checkGate(NO_SETTINGS, request())).toBeUndefined();
  });

  it('refuses a blocked member, for /animate and for a rerun', () => {
    const s = rules({ blocked: { u1: { by: 'admin', at: 0 } } });
    expect(checkGate(s, request())).toEqual({ code: 'blocked' });
    expect(checkGate(s, request({ rerun: true }))).toEqual({ code: 'blocked', rerun: true });
    expect(checkGate(s, request({ userId: 'u2' }))).toBeUndefined();
  });

  it('allows only listed channels, and threads whose parent is listed', () => {
    const s = rules({ channels: ['c1'] });
    expect(checkGate(s, request())).toBeUndefined();
    expect(checkGate(s, request({ channelId: 't9', threadParentId: 'c1' }))).toBeUndefined();
    expect(checkGate(s, request({ channelId: 'c2' }))).toEqual({
      code: 'channel_not_allowed',
      channels: ['c1'],
    });
    expect(checkGate(s, request({ channelId: 't9', threadParentId: 'c2' }))?.code).toBe(
      'channel_not_allowed',
    );
  });

  it('allows only members with a listed role', () => {
    const s = rules({ roles: ['r1', 'r2'] });
    expect(checkGate(s, request())).toEqual({ code: 'role_required' });
    expect(checkGate(s, request({ roleIds: new Set(['g1', 'r2']) }))).toBeUndefined();
    // The @everyone role (the server's id) on the list lets everyone in.
    expect(checkGate(rules({ roles: ['g1'] }), request())).toBeUndefined();
  });

  it('refuses a disabled model in words like an unconfigured one', () => {
    const s = rules({ disabledModels: ['wavespeed/ray-2-flash'] });
    const failure = checkGate(s, request());
    expect(failure).toEqual({ code: 'model_disabled', model: 'wavespeed/ray-2-flash' });
    expect(checkGate(s, request({ model: 'fal/ray-2-flash' }))).toBeUndefined();
    const unconfigured = failureMessage({ code: 'model_unavailable', model: 'wavespeed/ray-2-flash' });
    expect(failure && failureMessage(failure)).toBe(
      unconfigured.replace('on this bot right now', 'in this server'),
    );
  });

  it('refuses a prompt on the blocklist', () => {
    expect(checkGate(rules({ blocklist: ['cat'] }), request())).toEqual({ code: 'prompt_blocked' });
  });

  it('names the first rule broken: blocked, then channel, role, model, prompt', () => {
    const all = rules({
      blocked: { u1: { by: 'a', at: 0 } },
      channels: ['c9'],
      roles: ['r9'],
      disabledModels: ['wavespeed/ray-2-flash'],
      blocklist: ['cat'],
    });
    expect(checkGate(all, request())?.code).toBe('blocked');
    expect(checkGate({ ...all, blocked: {} }, request())?.code).toBe('channel_not_allowed');
    expect(checkGate({ ...all, blocked: {}, channels: [] }, request())?.code).toBe('role_required');
    expect(checkGate({ ...all, blocked: {}, channels: [], roles: [] }, request())?.code).toBe(
      'model_disabled',
    );
  });
});

describe('the prompt blocklist', () => {
  it('matches a plain word as a whole word, in any case', () => {
    expect(blocklistMatch(['cat'], 'A CAT!')).toBe('cat');
    expect(blocklistMatch(['cat'], 'concatenate the catalogue')).toBeUndefined();
    expect(blocklistMatch(['über'], 'Über alles')).toBe('über');
    expect(blocklistMatch(['red car'], 'a red  car')).toBeUndefined();
    expect(blocklistMatch(['red car'], 'a Red Car drives')).toBe('red car');
  });

  it('takes regex characters in a plain word literally', () => {
    expect(blocklistMatch(['c++'], 'I write C++ daily')).toBe('c++');
    expect(blocklistMatch(['a.b'], 'axb')).toBeUndefined();
  });

  it('matches a /regex/ anywhere, case-insensitively', () => {
    expect(blocklistMatch(['/ca+t/'], 'a caaaaaat')).toBe('/ca+t/');
    expect(blocklistMatch(['/^dog/'], 'Dogs run')).toBe('/^dog/');
    expect(blocklistMatch(['/^dog/'], 'hot dogs')).toBeUndefined();
    // Unlike a word, a regex is not bounded by word edges.
    expect(blocklistMatch(['/cat/'], 'concatenate')).toBe('/cat/');
  });

  it('counts a regex that runs out of time as a match, without stalling', () => {
    const started = Date.now();
    expect(blocklistMatch(['/^(a+)+$/'], `${'a'.repeat(40)}b`)).toBe('/^(a+)+$/');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('refuses a malformed regex or an empty or over-long pattern when it is added', () => {
    expect(patternProblem('/(unclosed/')).toMatch(/not a valid regular expression/);
    expect(patternProblem('   ')).toMatch(/1 to 100/);
    expect(patternProblem('x'.repeat(101))).toMatch(/1 to 100/);
    expect(patternProblem('/ok+/')).toBeUndefined();
    expect(patternProblem('word')).toBeUndefined();
  });
});
