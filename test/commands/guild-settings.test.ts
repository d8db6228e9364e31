// A server's settings: one record per server, validated when read, updates of one server applied
// one after another so none is lost.
import Keyv from 'keyv';
import { describe, expect, it } from 'vitest';
import { createGuildSettingsStore, NO_SETTINGS } from '../../src/store/guild-settings.js';

describe('guild settings store', () => {
  it('answers NO_SETTINGS for a server it has never seen', async () => {
    const store = createGuildSettingsStore(new Keyv());
    expect(await store.get('1')).toEqual(NO_SETTINGS);
  });

  it('keeps each server apart, under guild:<id>', async () => {
    const keyv = new Keyv();
    const store = createGuildSettingsStore(keyv);
    await store.update('1', (s) => ({ ...s, channels: ['10'] }));
    expect((await store.get('1')).channels).toEqual(['10']);
    expect(await store.get('2')).toEqual(NO_SETTINGS);
    expect(await keyv.get('guild:1')).toMatchObject({ channels: ['10'] });
  });

  it('applies concurrent updates of one server one after another (no lost update)', async () => {
    const store = createGuildSettingsStore(new Keyv());
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.update('1', (s) => ({ ...s, blocklist: [...s.blocklist, `w${i}`] })),
      ),
    );
    expect((await store.get('1')).blocklist).toHaveLength(20);
  });

  it('never lets an edit change NO_SETTINGS itself', async () => {
    const store = createGuildSettingsStore(new Keyv());
    await store.update('1', (s) => {
      s.roles.push('5');
      return s;
    });
    expect(NO_SETTINGS.roles).toEqual([]);
    expect((await store.get('1')).roles).toEqual(['5']);
  });

  it('drops an allowance or cap of 0 (0 means off)', async () => {
    const store = createGuildSettingsStore(new Keyv());
    await store.update('1', (s) => ({ ...s, allowance: { amount: 50, period: 'week' } }));
    expect((await store.get('1')).allowance).toEqual({ amount: 50, period: 'week' });
    await store.update('1', (s) => ({ ...s, allowance: { amount: 0, period: 'week' } }));
    expect((await store.get('1')).allowance).toBeUndefined();
  });

  it('refuses to read a malformed record instead of dropping its rules', async () => {
    const keyv = new Keyv();
    await keyv.set('guild:1', { channels: 'not a list' });
    await expect(createGuildSettingsStore(keyv).get('1')).rejects.toThrow();
  });

  it('refuses to write a malformed edit', async () => {
    const store = createGuildSettingsStore(new Keyv());
    await expect(store.update('1', (s) => ({ ...s, disabledModels: ['nope' as never] }))).rejects.toThrow();
    expect(await store.get('1')).toEqual(NO_SETTINGS);
  });
});
