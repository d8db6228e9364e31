// Discord's request validation, so bot bugs fail here as they would live: every REST body against
// Discord's OpenAPI request schema (openapi.ts), plus the limits the spec leaves out (message content
// length, the 6,000-character embed total, buttons and action rows) and the upload size.
import { ApiError, formError, isRecord, type ParsedBody } from './http.js';
import { validateAgainstSpec } from './openapi.js';
import type { RecordedFile } from './types.js';

export { formError } from './http.js';

type Path = (string | number)[];

const CONTENT_MAX = 2000;
const EMBED_TOTAL = 6000;
const ACTION_ROWS_MAX = 5;
const ROW_COMPONENTS_MAX = 5;
const CUSTOM_ID_MAX = 100;
/** IS_COMPONENTS_V2: the message is built from layout components, with their own limits (the spec's). */
const COMPONENTS_V2 = 1 << 15;
const ButtonStyle = { Link: 5, Premium: 6 } as const;

/** Length as Discord counts it: in code points, not UTF-16 units. */
const length = (value: unknown): number => (typeof value === 'string' ? [...value].length : 0);

function checkMax(value: unknown, max: number, path: Path): void {
  if (length(value) > max)
    throw formError(path, 'BASE_TYPE_MAX_LENGTH', `Must be ${max} or fewer in length.`);
}

function embedSize(embed: unknown): number {
  if (!isRecord(embed)) return 0;
  const fields = Array.isArray(embed.fields) ? embed.fields.filter(isRecord) : [];
  return (
    length(embed.title) +
    length(embed.description) +
    (isRecord(embed.footer) ? length(embed.footer.text) : 0) +
    (isRecord(embed.author) ? length(embed.author.name) : 0) +
    fields.reduce((sum, f) => sum + length(f.name) + length(f.value), 0)
  );
}

function checkEmbedTotal(embeds: unknown, path: Path): void {
  if (!Array.isArray(embeds)) return;
  const total = embeds.reduce((sum: number, e) => sum + embedSize(e), 0);
  if (total > EMBED_TOTAL) {
    throw formError(path, 'MAX_EMBED_SIZE_EXCEEDED', `Embed size exceeds maximum size of ${EMBED_TOTAL}`);
  }
}

function checkButton(button: Record<string, unknown>, path: Path): void {
  const required = (field: string): void => {
    if (button[field] === undefined || button[field] === null)
      throw formError([...path, field], 'BASE_TYPE_REQUIRED', 'This field is required');
  };
  if (button.style === ButtonStyle.Link) required('url');
  else if (button.style === ButtonStyle.Premium) required('sku_id');
  else required('custom_id');
}

/** Walks rows, containers, sections and labels: buttons are complete, custom ids short and unique. */
function checkComponentTree(list: unknown[], path: Path, seen: Set<string>): void {
  list.forEach((component, i) => {
    if (!isRecord(component)) return;
    const at = [...path, i];
    if (component.type === 1 && Array.isArray(component.components)) {
      if (component.components.length > ROW_COMPONENTS_MAX) {
        throw formError(
          [...at, 'components'],
          'BASE_TYPE_MAX_LENGTH',
          `Must be ${ROW_COMPONENTS_MAX} or fewer in length.`,
        );
      }
    }
    if (component.type === 2) checkButton(component, at);
    if (typeof component.custom_id === 'string') {
      checkMax(component.custom_id, CUSTOM_ID_MAX, [...at, 'custom_id']);
      if (seen.has(component.custom_id)) {
        throw formError(
          [...at, 'custom_id'],
          'COMPONENT_CUSTOM_ID_DUPLICATED',
          'Component custom id cannot be duplicated',
        );
      }
      seen.add(component.custom_id);
    }
    if (Array.isArray(component.components))
      checkComponentTree(component.components, [...at, 'components'], seen);
    if (isRecord(component.accessory)) checkComponentTree([component.accessory], [...at, 'accessory'], seen);
    if (isRecord(component.component)) checkComponentTree([component.component], [...at, 'component'], seen);
  });
}

function checkComponents(components: unknown, path: Path, v2: boolean): void {
  if (!Array.isArray(components)) return;
  if (!v2 && components.length > ACTION_ROWS_MAX) {
    throw formError(path, 'BASE_TYPE_MAX_LENGTH', `Must be ${ACTION_ROWS_MAX} or fewer in length.`);
  }
  checkComponentTree(components, path, new Set());
}

/** The limits the OpenAPI description leaves out, for a message body found at `path`. */
export function validateMessageLimits(message: unknown, path: Path = []): void {
  if (!isRecord(message)) return;
  checkMax(message.content, CONTENT_MAX, [...path, 'content']);
  checkEmbedTotal(message.embeds, [...path, 'embeds']);
  const v2 = typeof message.flags === 'number' && (message.flags & COMPONENTS_V2) !== 0;
  checkComponents(message.components, [...path, 'components'], v2);
}

/** Where each operation carries a message (or, for a modal, its rows), by the spec's operationId. */
const MESSAGE_BODIES: Record<string, (body: Record<string, unknown>) => void> = {
  create_message: (b) => validateMessageLimits(b),
  update_message: (b) => validateMessageLimits(b),
  execute_webhook: (b) => validateMessageLimits(b),
  update_webhook_message: (b) => validateMessageLimits(b),
  update_original_webhook_message: (b) => validateMessageLimits(b),
  create_thread: (b) => validateMessageLimits(b.message, ['message']),
  create_interaction_response: (b) => {
    if (b.type === 4 || b.type === 7) validateMessageLimits(b.data, ['data']);
    if (b.type === 9 && isRecord(b.data)) checkComponents(b.data.components, ['data', 'components'], false);
  },
};

/**
 * Validates a REST request body (API path without `/api/v10`) as Discord would before acting on
 * it; throws the 400 / 50035 form error for the first violation found.
 */
export function validateRequest(
  method: string,
  path: string,
  body: ParsedBody,
  contentType: string | undefined,
): void {
  const op = validateAgainstSpec(method, path, body, contentType);
  const check = op === undefined ? undefined : MESSAGE_BODIES[op.id];
  if (check !== undefined && isRecord(body.json)) check(body.json);
}

/** Discord checks each attachment against the limit (since 2025-04) and answers 413 / 40005. */
export function validateUploads(files: RecordedFile[], limitBytes: number): void {
  const total = files.reduce((sum, f) => sum + f.bytes.length, 0);
  if (files.some((f) => f.bytes.length > limitBytes) || total > 25 * 1024 * 1024) {
    throw new ApiError(413, 40005, 'Request entity too large');
  }
}
