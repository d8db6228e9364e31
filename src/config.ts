// The bot's settings: one zod schema over the environment, parsed once at start. This is the
// only module that reads process.env; a bad value stops the start with one line naming it.
import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import { MODEL_IDS } from './providers/catalog.js';

const MiB = 1024 * 1024;

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const httpUrl = z.url({ protocol: /^https?$/ }).transform((v) => v.replace(/\/+$/, ''));

const snowflake = z.string().regex(/^\d{17,20}$/, 'must be a Discord id (17 to 20 digits)');

const intFrom = (min: number, def: number) => z.coerce.number().int().min(min).default(def);

/** `host[:port]` entries; an entry without a port matches the scheme's default port. */
/** Comma-separated Discord ids. */
const idList = z.string().transform((v, ctx) => {
  const ids = v
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const bad = ids.find((id) => !/^\d{17,20}$/.test(id));
  if (bad !== undefined) {
    ctx.addIssue({ code: 'custom', message: `has “${bad}”, which is not a Discord user id` });
    return z.NEVER;
  }
  return ids;
});

const hostList = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h !== ''),
  )
  .pipe(
    z
      .array(z.string().regex(/^[a-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-f:]+\](:\d{1,5})?$/, 'must be host[:port]'))
      .min(1),
  );

const flag = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes' || v === 'on');

/** `model=ms,model=ms`: per-model run times that seed the poll schedule. */
const runTimes = z.string().transform((v, ctx) => {
  const out: Partial<Record<(typeof MODEL_IDS)[number], number>> = {};
  for (const part of v
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [model, ms] = part.split('=');
    const value = Number(ms);
    if (
      !model ||
      !(MODEL_IDS as readonly string[]).includes(model) ||
      !Number.isInteger(value) ||
      value <= 0
    ) {
      ctx.addIssue({ code: 'custom', message: `has a bad entry “${part}” (want model=milliseconds)` });
      return z.NEVER;
    }
    out[model as (typeof MODEL_IDS)[number]] = value;
  }
  return out;
});

/** `provider=n,provider=n`: a cap on concurrent running jobs per provider. */
const providerCaps = z.string().transform((v, ctx) => {
  const out: Partial<Record<'wavespeed' | 'fal', number>> = {};
  for (const part of v
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [provider, n] = part.split('=');
    const value = Number(n);
    if ((provider !== 'wavespeed' && provider !== 'fal') || !Number.isInteger(value) || value < 1) {
      ctx.addIssue({ code: 'custom', message: `has a bad entry “${part}” (want wavespeed=n or fal=n)` });
      return z.NEVER;
    }
    out[provider] = value;
  }
  return out;
});

const PORT_ERROR = 'must be a port number from 0 to 65535';

/**
 * `auto` (ask Discord) or a whole number of shards. The sharding manager also hands each shard
 * process SHARD_COUNT (as the number it settled on), so a shard reads the same setting.
 */
const shardCount = z.string().transform((v, ctx): 'auto' | number => {
  const value = v.trim().toLowerCase();
  if (value === 'auto') return 'auto';
  if (/^\d+$/.test(value) && Number(value) >= 1) return Number(value);
  ctx.addIssue({ code: 'custom', message: 'must be auto or a whole number of shards (1 or more)' });
  return z.NEVER;
});

/** Comma-separated shard ids, each once. */
const shardIds = z.string().transform((v, ctx) => {
  const parts = v
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const bad = parts.find((p) => !/^\d+$/.test(p));
  if (bad !== undefined) {
    ctx.addIssue({ code: 'custom', message: `has “${bad}”, which is not a shard id (0, 1, 2, …)` });
    return z.NEVER;
  }
  const ids = [...new Set(parts.map(Number))].sort((a, b) => a - b);
  if (ids.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'names no shard' });
    return z.NEVER;
  }
  return ids;
});

const storeUrl = z
  .string()
  .regex(/^(sqlite:\/\/.+|rediss?:\/\/.+)$/, 'must be sqlite://<path> or redis://host:port');

/**
 * Every setting, without the rules that tie two together: the part tools pick from
 * (`settingsSchema.pick(...)`; zod allows no pick or omit on a schema with refinements).
 */
export const settingsSchema = z.object({
  DISCORD_TOKEN: z.string({ error: 'is required' }).trim().min(1, 'is required'),
  DISCORD_CLIENT_ID: snowflake,
  DISCORD_GUILD_ID: optionalString.pipe(snowflake.optional()),
  DISCORD_API_URL: httpUrl.default('https://discord.com/api'),
  DISCORD_CDN_HOSTS: hostList.default(['cdn.discordapp.com', 'media.discordapp.net']),
  WAVESPEED_API_KEY: optionalString,
  WAVESPEED_BASE_URL: httpUrl.default('https://api.wavespeed.ai'),
  FAL_KEY: optionalString,
  FAL_QUEUE_URL: httpUrl.default('https://queue.fal.run'),
  FAL_STORAGE_URL: httpUrl.default('https://rest.fal.ai'),
  STORE_URL: storeUrl.default('sqlite://data/animate.sqlite'),
  STARTING_CREDITS: intFrom(0, 100),
  /** `guild`: a balance per member per server (DMs their own); `global`: one balance per member. */
  CREDITS_SCOPE: z.enum(['guild', 'global']).default('guild'),
  /** User ids that pass every admin check in every server (the host). */
  ADMIN_USER_IDS: idList.default([]),
  DEFAULT_MODEL: z.enum(MODEL_IDS).default('wavespeed/ray-2-flash'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Human-readable log lines (pino-pretty) instead of JSON, for someone watching a terminal. */
  LOG_PRETTY: flag(false),
  /** Largest input image we download from Discord. */
  IMAGE_MAX_BYTES: intFrom(1, 20 * MiB),
  /** Largest output video we download; a larger one is delivered as its URL. */
  OUTPUT_MAX_BYTES: intFrom(1, 100 * MiB),
  OUTPUT_DOWNLOAD_TIMEOUT_MS: intFrom(1000, 120_000),
  /** Memory for videos on their way to Discord, in MiB: deliveries beyond it wait their turn. */
  MEDIA_MEMORY_MB: intFrom(16, 256),
  /** A job not finished this long after it was accepted is cancelled and refunded. */
  JOB_DEADLINE_MS: intFrom(10_000, 15 * 60_000),
  /** Jobs one member may have running at once; further requests wait their turn. */
  MAX_ACTIVE_JOBS_PER_MEMBER: intFrom(1, 2),
  /** Seconds a member waits between two reruns (🔁 or a button); 0 = no wait. */
  RERUN_COOLDOWN_S: intFrom(0, 10),
  /** Optional cap on concurrent running jobs per provider (e.g. your account tier's concurrency). */
  PROVIDER_MAX_ACTIVE: providerCaps.default({}),
  /** Typical run time per model, overriding the catalogue; the bot refines it from what it observes. */
  EXPECTED_RUN_MS: runTimes.default({}),
  /** Run a Flash job on the other provider's Flash model when its own provider is down. */
  FAILOVER: flag(true),
  /** A video the provider flags as possibly sensitive, outside age-restricted channels: spoiler or block. */
  NSFW_POLICY: z.enum(['spoiler', 'block']).default('spoiler'),
  /** Port of the health and metrics listener (docs/operations.md); unset = no listener, 0 = any free port. */
  METRICS_PORT: z.coerce
    .number({ error: PORT_ERROR })
    .int(PORT_ERROR)
    .min(0, PORT_ERROR)
    .max(65_535, PORT_ERROR)
    .optional(),
  /** Address that listener binds: loopback unless an operator opens it up on purpose. */
  METRICS_HOST: z.string().trim().min(1).default('127.0.0.1'),
  /**
   * Where providers reach the webhook listener (docs/push.md); unset = no webhooks: fal jobs are
   * followed over fal's status stream and WaveSpeed jobs by polling. Any scheme is accepted (a
   * tunnel in development); providers require https in production.
   */
  PUBLIC_URL: optionalString.pipe(z.url().optional()).transform((v) => v?.replace(/\/+$/, '')),
  /** Port of the webhook listener (only with PUBLIC_URL); 0 = any free port. */
  WEBHOOK_PORT: z.coerce
    .number({ error: PORT_ERROR })
    .int(PORT_ERROR)
    .min(0, PORT_ERROR)
    .max(65_535, PORT_ERROR)
    .default(8787),
  /** Where fal publishes its webhook signing keys (cached 24 h). */
  FAL_JWKS_URL: httpUrl.default('https://rest.alpha.fal.ai/.well-known/jwks.json'),
  /** Shards in all for `npm run start:sharded`; `auto` takes the count Discord recommends. */
  SHARD_COUNT: shardCount.default('auto'),
  /** The shards this machine runs (the others run elsewhere on the same Redis); absent = all. */
  SHARD_IDS: optionalString.pipe(shardIds.optional()),
});

/** The bot's settings: every one of them, and SHARD_IDS within SHARD_COUNT. */
export const configSchema = settingsSchema.superRefine((config, ctx) => {
  const count = config.SHARD_COUNT;
  const beyond = count === 'auto' ? undefined : config.SHARD_IDS?.find((id) => id >= count);
  if (beyond !== undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['SHARD_IDS'],
      message: `has shard ${beyond}, but SHARD_COUNT=${count} numbers them 0 to ${Number(count) - 1}`,
    });
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * The settings of the terminal runner (`npm run animate`, docs/cli.md): the bot's, without the
 * Discord part. It never logs in to Discord nor fetches from its CDN, so a `.env` made for the bot
 * works unchanged, and one with no Discord values at all works too; the bot's own schema still
 * requires them.
 */
export const terminalConfigSchema = settingsSchema.omit({
  DISCORD_TOKEN: true,
  DISCORD_CLIENT_ID: true,
  DISCORD_GUILD_ID: true,
  DISCORD_API_URL: true,
  DISCORD_CDN_HOSTS: true,
});

export type TerminalConfig = z.infer<typeof terminalConfigSchema>;

/**
 * Parses the settings from `env`, with `.env` values underneath when a file is given
 * (real environment variables win). Throws ConfigError with one line naming the variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, dotenvPath?: string): Config {
  return loadSettings(configSchema, env, dotenvPath);
}

/** loadConfig for the terminal runner: the same sources and messages, no Discord settings. */
export function loadTerminalConfig(
  env: NodeJS.ProcessEnv = process.env,
  dotenvPath?: string,
): TerminalConfig {
  return loadSettings(terminalConfigSchema, env, dotenvPath);
}

/**
 * The same reading for a part of the settings (`settingsSchema.pick(...)`): tools such as
 * `npm run invite` need one value and must not demand the bot's token.
 */
export function loadSettings<S extends z.ZodObject>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
  dotenvPath?: string,
): z.infer<S> {
  const fromFile = dotenvPath && existsSync(dotenvPath) ? parseEnv(readFileSync(dotenvPath, 'utf8')) : {};
  const merged: Record<string, string | undefined> = { ...fromFile };
  for (const [key, value] of Object.entries(env)) if (value !== undefined) merged[key] = value;
  // An empty value means "not set", as in most .env files.
  for (const key of Object.keys(merged)) if (merged[key]?.trim() === '') delete merged[key];

  const result = schema.safeParse(merged);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const name = String(issue?.path[0] ?? 'configuration');
  const problem = merged[name] === undefined ? 'is required' : (issue?.message ?? 'is invalid');
  throw new ConfigError(`${name} ${problem}`);
}
