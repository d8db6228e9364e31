// Discord's request validation (lengths, embed limits, upload size) so bot bugs fail here as they would live.
import { ApiError, isRecord } from './http.js';
import type { RecordedFile } from './types.js';

const EMBED_TOTAL = 6000;

/** Builds Discord's 400 "Invalid Form Body" error with the nested `errors` tree. */
export function formError(path: (string | number)[], code: string, message: string): ApiError {
  let errors: Record<string, unknown> = { _errors: [{ code, message }] };
  for (const key of [...path].reverse()) errors = { [String(key)]: errors };
  return new ApiError(400, 50035, 'Invalid Form Body', errors);
}

function checkLength(value: unknown, max: number, path: (string | number)[], min = 0): number {
  if (value === undefined || value === null) {
    if (min > 0) throw formError(path, 'BASE_TYPE_REQUIRED', 'This field is required');
    return 0;
  }
  if (typeof value !== 'string')
    throw formError(path, 'BASE_TYPE_STRING', 'Could not interpret value as string.');
  const length = [...value].length;
  if (length > max || length < min) {
    throw min > 0
      ? formError(path, 'BASE_TYPE_BAD_LENGTH', `Must be between ${min} and ${max} in length.`)
      : formError(path, 'BASE_TYPE_MAX_LENGTH', `Must be ${max} or fewer in length.`);
  }
  return length;
}

export function validateContent(content: unknown): void {
  checkLength(content, 2000, ['content']);
}

export function validateThreadName(name: unknown): void {
  checkLength(name, 100, ['name'], 1);
}

export function validateAutoArchive(value: unknown): void {
  if (value === undefined || value === null) return;
  if (![60, 1440, 4320, 10080].includes(Number(value))) {
    throw formError(
      ['auto_archive_duration'],
      'BASE_TYPE_CHOICES',
      'Value must be one of {60, 1440, 4320, 10080}.',
    );
  }
}

export function validateNonce(nonce: unknown): void {
  if (nonce === undefined || nonce === null) return;
  if (typeof nonce === 'number' && Number.isInteger(nonce)) return;
  checkLength(nonce, 25, ['nonce']);
}

export function validateEmbeds(embeds: unknown): Record<string, unknown>[] {
  if (embeds === undefined || embeds === null) return [];
  if (!Array.isArray(embeds) || !embeds.every(isRecord)) {
    throw formError(['embeds'], 'BASE_TYPE_ARRAY', 'Could not interpret value as array of objects.');
  }
  if (embeds.length > 10)
    throw formError(['embeds'], 'BASE_TYPE_MAX_LENGTH', 'Must be 10 or fewer in length.');
  let total = 0;
  embeds.forEach((embed, i) => {
    total += checkLength(embed.title, 256, ['embeds', i, 'title']);
    total += checkLength(embed.description, 4096, ['embeds', i, 'description']);
    if (isRecord(embed.footer))
      total += checkLength(embed.footer.text, 2048, ['embeds', i, 'footer', 'text']);
    if (isRecord(embed.author)) total += checkLength(embed.author.name, 256, ['embeds', i, 'author', 'name']);
    const fields = Array.isArray(embed.fields) ? (embed.fields as unknown[]) : [];
    if (fields.length > 25)
      throw formError(['embeds', i, 'fields'], 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
    fields.forEach((field, j) => {
      const f = isRecord(field) ? field : {};
      total += checkLength(f.name, 256, ['embeds', i, 'fields', j, 'name'], 1);
      total += checkLength(f.value, 1024, ['embeds', i, 'fields', j, 'value'], 1);
    });
  });
  if (total > EMBED_TOTAL) {
    throw formError(
      ['embeds'],
      'MAX_EMBED_SIZE_EXCEEDED',
      `Embed size exceeds maximum size of ${EMBED_TOTAL}`,
    );
  }
  return embeds;
}

/** Discord checks each attachment against the limit (since 2025-04) and answers 413 / 40005. */
export function validateUploads(files: RecordedFile[], limitBytes: number): void {
  const total = files.reduce((sum, f) => sum + f.bytes.length, 0);
  if (files.some((f) => f.bytes.length > limitBytes) || total > 25 * 1024 * 1024) {
    throw new ApiError(413, 40005, 'Request entity too large');
  }
}
