// loadConfig: the contract's defaults, one readable line naming a bad or missing variable,
// `.env` values underneath real environment values, and empty values counting as unset.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, configSchema, loadConfig, settingsSchema, loadSettings } from '../src/config.js';

const REQUIRED = { DISCORD_TOKEN: 'bot-token-value', DISCORD_CLIENT_ID: '123456789012345678' } as const;

/** Runs loadConfig and returns the ConfigError it throws (fails the test when it does not throw). */
function configError(env: NodeJS.ProcessEnv, dotenvPath?: string): ConfigError {
  try {
    loadConfig(env, dotenvPath);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('loadConfig did not throw');
}

const dirs: string[] = [];
function dotenv(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'animate-config-'));
  dirs.push(dir);
  const path = join(dir, '.env');
  writeFileSync(path, text);
  return path;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('loadConfig defaults', () => {
  it('fills every optional setting with the default from the contract', () => {
    const config = loadConfig({ ...REQUIRED });
    expect(config.DISCORD_TOKEN).toBe('bot-token-value');
    expect(config.DISCORD_CLIENT_ID).toBe('123456789012345678');
    expect(config.DISCORD_GUILD_ID).toBeUndefined();
    expect(config.DISCORD_API_URL).toBe('https://discord.com/api');
    expect(config.DISCORD_CDN_HOSTS).toEqual(['cdn.discordapp.com', 'media.discordapp.net']);
    expect(config.WAVESPEED_API_KEY).toBeUndefined();
    expect(config.WAVESPEED_BASE_URL).toBe('https://api.wavespeed.ai');
    expect(config.FAL_KEY).toBeUndefined();
    expect(config.FAL_QUEUE_URL).toBe('https://queue.fal.run');
    expect(config.FAL_STORAGE_URL).toBe('https://rest.fal.ai');
    expect(config.STARTING_CREDITS).toBe(100);
    expect(config.DEFAULT_MODEL).toBe('wavespeed/ray-2-flash');
    expect(config.LOG_LEVEL).toBe('info');
    expect(config.CREDITS_SCOPE).toBe('guild');
    expect(config.ADMIN_USER_IDS).toEqual([]);
    expect(config.RERUN_COOLDOWN_S).toBe(10);
  });

  it('defaults STORE_URL to an SQLite file under ./data/', () => {
    const { STORE_URL } = loadConfig({ ...REQUIRED });
    expect(STORE_URL).toMatch(/^sqlite:\/\/(\.\/)?data\/[^/]+$/);
  });

  it('takes set values over the defaults', () => {
    const config = loadConfig({
      ...REQUIRED,
      DISCORD_GUILD_ID: '876543210987654321',
      DISCORD_API_URL: 'http://127.0.0.1:9999/api',
      WAVESPEED_API_KEY: 'ws-key',
      FAL_KEY: 'fal-key',
      STORE_URL: 'redis://localhost:6379',
      STARTING_CREDITS: '0',
      DEFAULT_MODEL: 'fal/ray-2-flash',
      LOG_LEVEL: 'debug',
    });
    expect(config.DISCORD_GUILD_ID).toBe('876543210987654321');
    expect(config.DISCORD_API_URL).toBe('http://127.0.0.1:9999/api');
    expect(config.WAVESPEED_API_KEY).toBe('ws-key');
    expect(config.FAL_KEY).toBe('fal-key');
    expect(config.STORE_URL).toBe('redis://localhost:6379');
    expect(config.STARTING_CREDITS).toBe(0);
    expect(config.DEFAULT_MODEL).toBe('fal/ray-2-flash');
    expect(config.LOG_LEVEL).toBe('debug');
  });

  it('accepts an absolute SQLite path', () => {
    expect(loadConfig({ ...REQUIRED, STORE_URL: 'sqlite:///var/lib/animate/db.sqlite' }).STORE_URL).toBe(
      'sqlite:///var/lib/animate/db.sqlite',
    );
  });
});

describe('loadConfig refusals', () => {
  it('a missing DISCORD_TOKEN throws a ConfigError of one line naming it', () => {
    const error = configError({ DISCORD_CLIENT_ID: REQUIRED.DISCORD_CLIENT_ID });
    expect(error.message).toContain('DISCORD_TOKEN');
    expect(error.message).not.toContain('\n');
  });

  it('a missing DISCORD_CLIENT_ID is named', () => {
    const error = configError({ DISCORD_TOKEN: REQUIRED.DISCORD_TOKEN });
    expect(error.message).toContain('DISCORD_CLIENT_ID');
    expect(error.message).not.toContain('\n');
  });

  it.each([
    ['STARTING_CREDITS', 'abc'],
    ['STARTING_CREDITS', '-1'],
    ['STARTING_CREDITS', '1.5'],
    ['DEFAULT_MODEL', 'foo'],
    ['STORE_URL', 'mysql://x'],
    ['DISCORD_CLIENT_ID', 'abc'],
    ['DISCORD_GUILD_ID', 'not-a-guild'],
    ['DISCORD_API_URL', 'ftp://discord.example/api'],
    ['LOG_LEVEL', 'loud'],
  ])('%s=%s is refused with a one-line message naming the variable', (name, value) => {
    const error = configError({ ...REQUIRED, [name]: value });
    expect(error.message).toContain(name);
    expect(error.message).not.toContain('\n');
  });

  it('does not report a malformed value as missing', () => {
    const error = configError({ ...REQUIRED, STARTING_CREDITS: 'abc' });
    expect(error.message).not.toMatch(/required/i);
  });
});

describe('loadConfig empty values', () => {
  it('an empty DISCORD_TOKEN counts as missing', () => {
    const error = configError({ ...REQUIRED, DISCORD_TOKEN: '' });
    expect(error.message).toContain('DISCORD_TOKEN');
  });

  it('a blank DISCORD_TOKEN (spaces only) counts as missing', () => {
    const error = configError({ ...REQUIRED, DISCORD_TOKEN: '   ' });
    expect(error.message).toContain('DISCORD_TOKEN');
  });

  it('empty optional values fall back to their defaults or stay unset', () => {
    const config = loadConfig({
      ...REQUIRED,
      STARTING_CREDITS: '',
      DEFAULT_MODEL: '',
      STORE_URL: '',
      LOG_LEVEL: '',
      DISCORD_GUILD_ID: '',
      FAL_KEY: '',
      WAVESPEED_API_KEY: '',
      DISCORD_CDN_HOSTS: '',
    });
    expect(config.STARTING_CREDITS).toBe(100);
    expect(config.DEFAULT_MODEL).toBe('wavespeed/ray-2-flash');
    expect(config.STORE_URL).toMatch(/^sqlite:\/\//);
    expect(config.LOG_LEVEL).toBe('info');
    expect(config.DISCORD_GUILD_ID).toBeUndefined();
    expect(config.FAL_KEY).toBeUndefined();
    expect(config.WAVESPEED_API_KEY).toBeUndefined();
    expect(config.DISCORD_CDN_HOSTS).toEqual(['cdn.discordapp.com', 'media.discordapp.net']);
  });
});

describe('loadConfig .env file', () => {
  it('reads values from the .env file', () => {
    const path = dotenv(
      [
        '# a comment',
        'DISCORD_TOKEN=from-file-token',
        'DISCORD_CLIENT_ID=111111111111111111',
        'STARTING_CREDITS=42',
        'FAL_KEY="quoted-fal-key"',
        '',
      ].join('\n'),
    );
    const config = loadConfig({}, path);
    expect(config.DISCORD_TOKEN).toBe('from-file-token');
    expect(config.DISCORD_CLIENT_ID).toBe('111111111111111111');
    expect(config.STARTING_CREDITS).toBe(42);
    expect(config.FAL_KEY).toBe('quoted-fal-key');
  });

  it('real environment values win over the .env file', () => {
    const path = dotenv(
      'DISCORD_TOKEN=from-file\nDISCORD_CLIENT_ID=111111111111111111\nSTARTING_CREDITS=42\n',
    );
    const config = loadConfig({ DISCORD_TOKEN: 'from-env', STARTING_CREDITS: '7' }, path);
    expect(config.DISCORD_TOKEN).toBe('from-env');
    expect(config.STARTING_CREDITS).toBe(7);
    expect(config.DISCORD_CLIENT_ID).toBe('111111111111111111');
  });

  it('an empty value in the .env file counts as unset', () => {
    const path = dotenv('DISCORD_TOKEN=\nDISCORD_CLIENT_ID=111111111111111111\nSTARTING_CREDITS=\n');
    expect(configError({}, path).message).toContain('DISCORD_TOKEN');
    expect(loadConfig({ DISCORD_TOKEN: 't' }, path).STARTING_CREDITS).toBe(100);
  });

  it('a malformed value in the .env file is named like one from the environment', () => {
    const path = dotenv('DEFAULT_MODEL=foo\n');
    const error = configError({ ...REQUIRED }, path);
    expect(error.message).toContain('DEFAULT_MODEL');
  });

  it('a .env path that does not exist is ignored', () => {
    const dir = mkdtempSync(join(tmpdir(), 'animate-config-'));
    dirs.push(dir);
    expect(loadConfig({ ...REQUIRED }, join(dir, '.env')).STARTING_CREDITS).toBe(100);
  });
});

describe('DISCORD_CDN_HOSTS parsing', () => {
  it('splits on commas, trims spaces and lower-cases hosts', () => {
    const { DISCORD_CDN_HOSTS } = loadConfig({
      ...REQUIRED,
      DISCORD_CDN_HOSTS: '  CDN.Example.COM , media.example.net:8443,,127.0.0.1:9000 ',
    });
    expect(DISCORD_CDN_HOSTS).toEqual(['cdn.example.com', 'media.example.net:8443', '127.0.0.1:9000']);
  });

  it('accepts a single host', () => {
    expect(loadConfig({ ...REQUIRED, DISCORD_CDN_HOSTS: 'localhost:3000' }).DISCORD_CDN_HOSTS).toEqual([
      'localhost:3000',
    ]);
  });

  it.each(['https://cdn.example.com', 'cdn.example.com/path', 'cdn example.com', 'host:port', ' , , '])(
    'refuses %j naming DISCORD_CDN_HOSTS',
    (value) => {
      expect(configError({ ...REQUIRED, DISCORD_CDN_HOSTS: value }).message).toContain('DISCORD_CDN_HOSTS');
    },
  );
});

describe('economy settings', () => {
  it('reads CREDITS_SCOPE and a comma-separated ADMIN_USER_IDS', () => {
    const config = loadConfig({
      ...REQUIRED,
      CREDITS_SCOPE: 'global',
      ADMIN_USER_IDS: ' 111111111111111111, 222222222222222222 ,',
    });
    expect(config.CREDITS_SCOPE).toBe('global');
    expect(config.ADMIN_USER_IDS).toEqual(['111111111111111111', '222222222222222222']);
  });

  it.each([
    ['CREDITS_SCOPE', 'server'],
    ['ADMIN_USER_IDS', '111111111111111111,@host'],
  ])('refuses %s=%j naming it', (name, value) => {
    expect(configError({ ...REQUIRED, [name]: value }).message).toMatch(new RegExp(`^${name} `));
  });
});

describe('health and metrics settings', () => {
  it('has no listener unless METRICS_PORT is set, and binds loopback by default', () => {
    const config = loadConfig({ ...REQUIRED });
    expect(config.METRICS_PORT).toBeUndefined();
    expect(config.METRICS_HOST).toBe('127.0.0.1');
    expect(loadConfig({ ...REQUIRED, METRICS_PORT: '9464', METRICS_HOST: '0.0.0.0' })).toMatchObject({
      METRICS_PORT: 9464,
      METRICS_HOST: '0.0.0.0',
    });
  });

  it('names METRICS_PORT when it is not a port', () => {
    for (const bad of ['http', '65536', '-1', '80.5'])
      expect(configError({ ...REQUIRED, METRICS_PORT: bad }).message).toBe(
        'METRICS_PORT must be a port number from 0 to 65535',
      );
  });
});

describe('push settings', () => {
  it('has no webhooks unless PUBLIC_URL is set; the listener port and fal keys default', () => {
    const config = loadConfig({ ...REQUIRED });
    expect(config.PUBLIC_URL).toBeUndefined();
    expect(config.WEBHOOK_PORT).toBe(8787);
    expect(config.FAL_JWKS_URL).toBe('https://rest.alpha.fal.ai/.well-known/jwks.json');
  });

  it('takes any scheme in PUBLIC_URL, without a trailing slash', () => {
    expect(loadConfig({ ...REQUIRED, PUBLIC_URL: 'https://bot.example.org/' }).PUBLIC_URL).toBe(
      'https://bot.example.org',
    );
    expect(loadConfig({ ...REQUIRED, PUBLIC_URL: 'http://127.0.0.1:9000' }).PUBLIC_URL).toBe(
      'http://127.0.0.1:9000',
    );
  });

  it('names PUBLIC_URL when it is not a URL, and WEBHOOK_PORT when it is not a port', () => {
    expect(configError({ ...REQUIRED, PUBLIC_URL: 'bot.example.org' }).message).toMatch(/^PUBLIC_URL /);
    expect(configError({ ...REQUIRED, WEBHOOK_PORT: '70000' }).message).toBe(
      'WEBHOOK_PORT must be a port number from 0 to 65535',
    );
  });
});

describe('loadSettings', () => {
  const clientOnly = settingsSchema.pick({ DISCORD_CLIENT_ID: true });

  it('reads a part of the settings without the others (no DISCORD_TOKEN needed)', () => {
    expect(loadSettings(clientOnly, { DISCORD_CLIENT_ID: REQUIRED.DISCORD_CLIENT_ID })).toStrictEqual({
      DISCORD_CLIENT_ID: REQUIRED.DISCORD_CLIENT_ID,
    });
    expect(loadSettings(clientOnly, {}, dotenv(`DISCORD_CLIENT_ID=${REQUIRED.DISCORD_CLIENT_ID}\n`))).toEqual(
      {
        DISCORD_CLIENT_ID: REQUIRED.DISCORD_CLIENT_ID,
      },
    );
  });

  it('names the missing value in one line, like loadConfig', () => {
    expect(() => loadSettings(clientOnly, { DISCORD_TOKEN: 'x' })).toThrow(
      new ConfigError('DISCORD_CLIENT_ID is required'),
    );
  });
});

describe('sharding settings', () => {
  it('defaults to SHARD_COUNT=auto and every shard', () => {
    const config = loadConfig({ ...REQUIRED });
    expect(config.SHARD_COUNT).toBe('auto');
    expect(config.SHARD_IDS).toBeUndefined();
  });

  it('reads a shard count and a comma-separated list of shard ids, sorted and each once', () => {
    const config = loadConfig({ ...REQUIRED, SHARD_COUNT: '4', SHARD_IDS: ' 3, 2,,3 ' });
    expect(config.SHARD_COUNT).toBe(4);
    expect(config.SHARD_IDS).toEqual([2, 3]);
  });

  it('accepts the SHARD_COUNT a sharding manager hands its shard processes (a number)', () => {
    // ShardingManager copies its environment and sets SHARD_COUNT to the number it settled on
    // (and SHARDS to the shard's id), which the child's process.env holds as strings.
    const env = { ...REQUIRED, SHARD_COUNT: '2', SHARDS: '1', SHARDING_MANAGER: 'true' };
    expect(loadConfig(env).SHARD_COUNT).toBe(2);
    expect(loadConfig({ ...REQUIRED, SHARD_COUNT: 'AUTO' }).SHARD_COUNT).toBe('auto');
  });

  it.each([
    ['SHARD_COUNT', '0', /^SHARD_COUNT must be auto or a whole number/],
    ['SHARD_COUNT', '2.5', /^SHARD_COUNT must be auto or a whole number/],
    ['SHARD_COUNT', 'many', /^SHARD_COUNT must be auto or a whole number/],
    ['SHARD_IDS', '0,one', /^SHARD_IDS has “one”, which is not a shard id/],
    ['SHARD_IDS', '-1', /^SHARD_IDS has “-1”/],
    ['SHARD_IDS', ' , ', /^SHARD_IDS names no shard$/],
  ])('refuses %s=%j in one line naming it', (name, value, message) => {
    expect(configError({ ...REQUIRED, [name]: value }).message).toMatch(message);
  });

  it('refuses a shard id the count does not have', () => {
    expect(configError({ ...REQUIRED, SHARD_COUNT: '4', SHARD_IDS: '2,4' }).message).toBe(
      'SHARD_IDS has shard 4, but SHARD_COUNT=4 numbers them 0 to 3',
    );
  });
});

describe('.env.example', () => {
  it('is a valid configuration once the required values are filled in, and names every setting', () => {
    const example = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
    const dir = mkdtempSync(join(tmpdir(), 'animate-env-example-'));
    try {
      const filled = example
        .replace(/^DISCORD_TOKEN=$/m, 'DISCORD_TOKEN=token-from-the-portal')
        .replace(/^DISCORD_CLIENT_ID=$/m, 'DISCORD_CLIENT_ID=123456789012345678')
        .replace(/^WAVESPEED_API_KEY=$/m, 'WAVESPEED_API_KEY=ws-key');
      writeFileSync(join(dir, '.env'), filled);
      const config = loadConfig({}, join(dir, '.env'));
      expect(config.DISCORD_TOKEN).toBe('token-from-the-portal');
      expect(config.STORE_URL).toBe('sqlite://data/animate.sqlite');
      for (const name of Object.keys(configSchema.shape))
        expect(example).toMatch(new RegExp(`^${name}=`, 'm'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
