// Logs never carry the bot token, API keys, auth headers or interaction tokens, wherever they
// turn up: in the message, in fields, in an error's message, stack or cause.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';

const BOT_TOKEN = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.bot-token-secret-part';
const FAL_KEY = 'fal-key-0123456789abcdef:fedcba9876543210';
const WAVESPEED_KEY = 'ws_live_9f8e7d6c5b4a';
const INTERACTION_TOKEN = 'aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDEyMzQ1Njc4OlNFQ1JFVFRPS0VO';
const INTERACTION_URL = `https://discord.com/api/v10/webhooks/123456789012345678/${INTERACTION_TOKEN}/messages/@original`;
const CALLBACK_URL = `https://discord.com/api/v10/interactions/123456789012345678/${INTERACTION_TOKEN}/callback`;
const SECRETS = [BOT_TOKEN, FAL_KEY, WAVESPEED_KEY, INTERACTION_TOKEN];

function capture(level = 'trace') {
  const lines: string[] = [];
  const log = createLogger({
    level,
    secrets: [BOT_TOKEN, FAL_KEY, WAVESPEED_KEY],
    destination: { write: (s: string) => void lines.push(s) },
  });
  const output = () => lines.join('');
  const records = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { log, output, records };
}

function expectNoSecrets(output: string): void {
  expect(output.length).toBeGreaterThan(0);
  for (const secret of SECRETS) expect(output).not.toContain(secret);
  // Parts of the token are secret too.
  expect(output).not.toContain('bot-token-secret-part');
}

describe('createLogger', () => {
  it('writes structured JSON lines with the message and fields', () => {
    const { log, records } = capture();
    log.info({ jobId: 'job-1', model: 'fal/ray-2-flash' }, 'job submitted');
    expect(records()).toEqual([
      expect.objectContaining({ jobId: 'job-1', model: 'fal/ray-2-flash', msg: 'job submitted' }),
    ]);
  });

  it('respects the level', () => {
    const { log, records } = capture('warn');
    log.info('quiet');
    log.warn('loud');
    expect(records().map((r) => r['msg'])).toEqual(['loud']);
  });

  it('keeps the bot token and API keys out of messages', () => {
    const { log, output } = capture();
    log.info(`logging in with ${BOT_TOKEN}`);
    log.warn(`fal said no to Key ${FAL_KEY}`);
    log.error(`wavespeed key ${WAVESPEED_KEY} rejected`);
    log.info('format args too: %s and %s', BOT_TOKEN, WAVESPEED_KEY);
    log.info({ jobId: 'job-1' }, `with fields and ${FAL_KEY}`);
    expectNoSecrets(output());
    expect(output()).toContain('[redacted]');
  });

  it('keeps the bot token and API keys out of conventionally named fields', () => {
    const { log, output } = capture();
    log.info({ token: BOT_TOKEN, apiKey: FAL_KEY }, 'top level');
    log.info({ client: { token: BOT_TOKEN }, provider: { apiKey: WAVESPEED_KEY } }, 'nested');
    log.info({ config: { DISCORD_TOKEN: BOT_TOKEN, FAL_KEY, WAVESPEED_API_KEY: WAVESPEED_KEY } }, 'config');
    expectNoSecrets(output());
  });

  it('keeps headers.authorization out', () => {
    const { log, output, records } = capture();
    log.info(
      { headers: { authorization: `Bot ${BOT_TOKEN}`, 'content-type': 'application/json' } },
      'request',
    );
    log.info({ request: { headers: { authorization: `Key ${FAL_KEY}` } } }, 'nested request');
    log.info({ request: { headers: { Authorization: `Bearer ${WAVESPEED_KEY}` } } }, 'capitalised');
    expectNoSecrets(output());
    // Only the secret goes; the rest of the record stays useful.
    expect(records()[0]).toMatchObject({ headers: { 'content-type': 'application/json' } });
  });

  it('keeps a capitalised top-level headers.Authorization out', () => {
    const { log, output } = capture();
    log.info({ headers: { Authorization: `Bot ${BOT_TOKEN}` } }, 'request');
    expectNoSecrets(output());
  });

  it('scrubs interaction tokens from URLs in messages, keeping the rest of the URL', () => {
    const { log, output, records } = capture();
    log.warn(`PATCH ${INTERACTION_URL} failed`);
    log.warn(`POST ${CALLBACK_URL} failed`);
    expectNoSecrets(output());
    expect(records()[0]?.['msg']).toContain('/webhooks/123456789012345678/');
    expect(records()[0]?.['msg']).toContain('/messages/@original');
  });

  it('scrubs interaction tokens and secrets from an error message, stack and cause', () => {
    const { log, output, records } = capture();
    const cause = new Error(`socket closed talking to ${CALLBACK_URL}`);
    const error = new Error(`PATCH ${INTERACTION_URL} failed with ${BOT_TOKEN}`, { cause });
    expect(error.stack).toContain(INTERACTION_TOKEN);
    log.error({ err: error, jobId: 'job-1' }, 'could not edit the reply');
    expectNoSecrets(output());
    const err = records()[0]?.['err'] as Record<string, unknown>;
    expect(err['message']).toContain('/webhooks/123456789012345678/');
    expect(String(err['stack'])).toContain('Error: PATCH');
  });

  it('scrubs secrets kept in error properties (like a REST error carrying its URL)', () => {
    const { log, output } = capture();
    const error = Object.assign(new Error('Unknown interaction'), {
      url: INTERACTION_URL,
      requestBody: { json: { content: 'hi' } },
      status: 404,
    });
    log.warn({ err: error }, 'could not answer the interaction');
    expectNoSecrets(output());
    expect(output()).toContain('Unknown interaction');
  });

  it('scrubs an error logged under `error` as well as `err`', () => {
    const { log, output } = capture();
    log.error({ error: new Error(`failed ${INTERACTION_URL}`) }, 'x');
    expectNoSecrets(output());
  });

  it('keeps secrets out when an error is logged on its own (message taken from the error)', () => {
    const { log, output } = capture();
    log.error(new Error(`PATCH ${INTERACTION_URL} failed with ${BOT_TOKEN}`));
    expectNoSecrets(output());
  });

  it('keeps secrets out when an error is logged in an object without a message', () => {
    const { log, output } = capture();
    log.error({ err: new Error(`POST ${CALLBACK_URL} failed`) });
    expectNoSecrets(output());
  });

  it('keeps an interaction URL out of an ordinary field', () => {
    const { log, output } = capture();
    log.warn({ url: INTERACTION_URL, status: 404 }, 'request failed');
    expectNoSecrets(output());
  });

  it('keeps a known secret out of an ordinary field', () => {
    const { log, output } = capture();
    log.info({ detail: `retrying with Key ${FAL_KEY}` }, 'submit');
    expectNoSecrets(output());
  });

  it('child loggers keep the same protection', () => {
    const { log, output, records } = capture();
    const child = log.child({ jobId: 'job-9' });
    child.info({ token: BOT_TOKEN }, `edit ${INTERACTION_URL}`);
    child.error({ err: new Error(`boom ${BOT_TOKEN}`) }, 'failed');
    expectNoSecrets(output());
    expect(records()[0]).toMatchObject({ jobId: 'job-9' });
  });
});

describe('LOG_PRETTY', () => {
  it('writes lines for a person (level, message, fields) and still scrubs secrets', async () => {
    const lines: string[] = [];
    const log = createLogger({
      level: 'info',
      pretty: true,
      secrets: [WAVESPEED_KEY],
      destination: { write: (s: string) => void lines.push(s) },
    });
    log.info({ jobId: 'job-1', apiKey: WAVESPEED_KEY }, `submitted with ${WAVESPEED_KEY}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const text = lines.join('');
    expect(text).not.toMatch(/^\{/);
    expect(text).toMatch(/INFO/);
    expect(text).toContain('submitted with [redacted]');
    expect(text).toContain('jobId: "job-1"');
    expect(text).not.toContain(WAVESPEED_KEY);
  });
});
