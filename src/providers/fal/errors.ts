// Turns fal's error answers (HTTP status, `X-Fal-Error-Type`, FastAPI `detail`, request errors
// `{detail, error_type}`) into ProviderErrors, and keeps the API key out of every message.
import { NetworkError, ResponseTooLargeError, retryAfterMs, type HttpResponse } from '../../net/http.js';
import {
  ProviderError,
  fromNetworkError,
  fromTooLarge,
  kindForStatus,
  type ProviderErrorKind,
} from '../errors.js';
import { errorBody } from './wire.js';

const MODERATION_TYPE = 'content_policy_violation';
const MAX_MESSAGE_CHARS = 300;

export interface FalErrorInfo {
  /** `X-Fal-Error-Type`, else the body's `error_type`. */
  code: string | undefined;
  /** The first readable line of the body: a `detail` string, `detail[0].msg`, or `message`. */
  detail: string | undefined;
  moderation: boolean;
  requestId: string | undefined;
}

export function readFalError(res: HttpResponse): FalErrorInfo {
  const parsed = errorBody.safeParse(res.body);
  const body = parsed.success ? parsed.data : {};
  const items = Array.isArray(body.detail) ? body.detail : [];
  const detail = typeof body.detail === 'string' ? body.detail : (items[0]?.msg ?? body.message);
  const code = res.headers['x-fal-error-type'] ?? body.error_type;
  return {
    code,
    detail,
    moderation: code === MODERATION_TYPE || items.some((d) => d.type === MODERATION_TYPE),
    requestId: res.headers['x-fal-request-id'],
  };
}

export function isModerationType(errorType: string | null | undefined): boolean {
  return errorType === MODERATION_TYPE;
}

/** Builds messages that are safe to log: the key is cut out, the length is bounded. */
export function createRedactor(apiKey: string): (message: string) => string {
  return (message) => {
    const clean = apiKey === '' ? message : message.split(apiKey).join('[redacted]');
    return clean.length > MAX_MESSAGE_CHARS ? `${clean.slice(0, MAX_MESSAGE_CHARS)}…` : clean;
  };
}

/** An HTTP error answer as a ProviderError; `kind` overrides the status-based classification. */
export function errorFromResponse(
  op: string,
  res: HttpResponse,
  redact: (m: string) => string,
  overrides: { kind?: ProviderErrorKind; notAccepted?: boolean } = {},
): ProviderError {
  const info = readFalError(res);
  const kind =
    overrides.kind ?? (res.status === 422 && info.moderation ? 'moderation' : kindForStatus(res.status));
  const retryAfter =
    kind === 'rate_limited' || kind === 'timeout' || res.status >= 500
      ? retryAfterMs(res.headers)
      : undefined;
  return new ProviderError({
    kind,
    provider: 'fal',
    message: redact(`fal ${op}: HTTP ${res.status}${info.detail ? `: ${info.detail}` : ''}`),
    status: res.status,
    ...(info.code !== undefined && { code: info.code }),
    ...(retryAfter !== undefined && { retryAfterMs: retryAfter }),
    ...(info.requestId !== undefined && { requestId: info.requestId }),
    notAccepted: overrides.notAccepted ?? false,
  });
}

/** A failure below HTTP: sorted by net/http into refused (not accepted) or not. */
export function rethrowTransport(error: unknown): never {
  if (error instanceof NetworkError) throw fromNetworkError('fal', error);
  if (error instanceof ResponseTooLargeError) throw fromTooLarge('fal', error);
  throw error;
}
