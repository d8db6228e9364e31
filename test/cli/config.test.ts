// The runner's settings: the bot's schema without its Discord part. A .env without any Discord
// value serves the runner, while the bot's own start still refuses it.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, loadTerminalConfig } from '../../src/config.js';

describe('loadTerminalConfig', () => {
  it('needs no Discord setting, and the bot still does', () => {
    const env = { WAVESPEED_API_KEY: 'ws-key', DEFAULT_MODEL: 'wavespeed/ray-2' };
    const config = loadTerminalConfig(env);
    expect(config.WAVESPEED_API_KEY).toBe('ws-key');
    expect(config.DEFAULT_MODEL).toBe('wavespeed/ray-2');
    expect(config.OUTPUT_MAX_BYTES).toBe(100 * 1024 * 1024);
    expect(() => loadConfig(env)).toThrow(new ConfigError('DISCORD_TOKEN is required'));
  });

  it('ignores the Discord settings of a bot .env, even malformed ones it never uses', () => {
    const config = loadTerminalConfig({ DISCORD_TOKEN: 'token', DISCORD_CLIENT_ID: 'not-an-id' });
    expect(config).not.toHaveProperty('DISCORD_TOKEN');
    expect(config).not.toHaveProperty('DISCORD_CLIENT_ID');
  });

  it('names a bad setting in one line, as the bot does', () => {
    expect(() => loadTerminalConfig({ JOB_DEADLINE_MS: 'soon' })).toThrow(ConfigError);
    expect(() => loadTerminalConfig({ JOB_DEADLINE_MS: 'soon' })).toThrow(/^JOB_DEADLINE_MS /);
  });
});
