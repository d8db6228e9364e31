// Structured logs with pino. Secrets never reach a log: known secret fields are redacted by
// path, and URLs that carry an interaction or webhook token are scrubbed wherever they appear.
import { pino, stdSerializers, type DestinationStream, type Logger } from 'pino';
import { prettyFactory } from 'pino-pretty';

export type { Logger };

const REDACT_PATHS = [
  'token',
  'apiKey',
  'authorization',
  'headers.authorization',
  'config.DISCORD_TOKEN',
  'config.WAVESPEED_API_KEY',
  'config.FAL_KEY',
  '*.token',
  '*.apiKey',
  '*.authorization',
  '*.headers.authorization',
  '*.headers.Authorization',
  'headers.Authorization',
  'DISCORD_TOKEN',
  'WAVESPEED_API_KEY',
  'FAL_KEY',
];

/** Interaction and webhook routes carry the interaction token in the path. */
const TOKEN_IN_URL = /(\/(?:webhooks|interactions)\/\d+\/)[A-Za-z0-9_.-]+/g;

export function scrubText(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(TOKEN_IN_URL, '$1[redacted]');
  for (const secret of secrets) if (secret.length >= 6) out = out.split(secret).join('[redacted]');
  return out;
}

/**
 * pino's error serializer copies every enumerable field; a discord.js error carries the request
 * body, which for an upload is the whole video as a JSON array of numbers. Keep the useful part.
 */
function serializeError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const out = stdSerializers.err(error) as unknown as Record<string, unknown>;
  delete out.requestBody;
  delete out.rawError;
  return out;
}

export function createLogger(opts: {
  level: string;
  /** Values that must never be printed (the bot token, API keys). */
  secrets?: readonly string[];
  destination?: DestinationStream;
  /** LOG_PRETTY: coloured lines for a person at a terminal instead of JSON (pino-pretty). */
  pretty?: boolean;
  /** Fields on every line besides `app` (a shard process names its shard). */
  base?: Record<string, unknown>;
}): Logger {
  const secrets = opts.secrets ?? [];
  return pino(
    {
      level: opts.level,
      base: { app: 'animate', ...opts.base },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { err: serializeError, error: serializeError },
      // The last word on every line, whatever field or error message carried it: a secret or a
      // token-bearing URL can come from anywhere (an upstream message, a discord.js error's URL).
      hooks: { streamWrite: (line) => scrubText(line, secrets) },
    },
    // Synchronous writes: the last lines before a crash or exit are the ones that matter.
    opts.pretty
      ? prettyDestination(opts.destination)
      : (opts.destination ?? pino.destination({ dest: 1, sync: true })),
  );
}

/**
 * LOG_PRETTY: each JSON line, already scrubbed, formatted by pino-pretty and written at once (the
 * same synchronous writes as JSON; colours only on a terminal).
 */
function prettyDestination(destination: DestinationStream | undefined): DestinationStream {
  const out = destination ?? pino.destination({ dest: 1, sync: true });
  const format = prettyFactory({ colorize: destination === undefined && process.stdout.isTTY });
  return { write: (line: string) => void out.write(format(line)) };
}

/** The fields every log line about a job carries, so an operator can follow one job or member. */
export function jobFields(job: { id: string; guildId: string | null; userId: string; runModel: string }) {
  return { jobId: job.id, guildId: job.guildId, userId: job.userId, model: job.runModel };
}
