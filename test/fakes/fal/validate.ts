// Input validation for the fake fal endpoint: the Ray 2 Flash schema (protocols §2.11), with
// failures reported the way fal's FastAPI apps do, as a 422 `detail` array of {loc, msg, type}.

export interface DetailItem {
  loc: (string | number)[];
  msg: string;
  type: string;
}

export const ASPECT_RATIOS = ['16:9', '9:16', '4:3', '3:4', '21:9', '9:21'] as const;
export const RESOLUTIONS = ['540p', '720p', '1080p'] as const;
export const DURATIONS = ['5s', '9s'] as const;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkEnum(
  body: Record<string, unknown>,
  field: string,
  allowed: readonly string[],
  out: DetailItem[],
): void {
  const value = body[field];
  if (value === undefined) return;
  if (typeof value !== 'string' || !allowed.includes(value)) {
    out.push({
      loc: ['body', field],
      msg: `value is not a valid enumeration member; permitted: ${allowed.map((a) => `'${a}'`).join(', ')}`,
      type: 'type_error.enum',
    });
  }
}

function checkString(
  body: Record<string, unknown>,
  field: string,
  required: boolean,
  out: DetailItem[],
): void {
  const value = body[field];
  if (value === undefined) {
    if (required) out.push({ loc: ['body', field], msg: 'field required', type: 'value_error.missing' });
    return;
  }
  if (typeof value !== 'string')
    out.push({ loc: ['body', field], msg: 'str type expected', type: 'type_error.str' });
}

/** Returns the 422 detail items for a submit body; empty when the body is valid. */
export function validateInput(body: unknown): DetailItem[] {
  if (!isRecord(body)) return [{ loc: ['body'], msg: 'value is not a valid dict', type: 'type_error.dict' }];
  const out: DetailItem[] = [];
  checkString(body, 'prompt', true, out);
  checkString(body, 'image_url', false, out);
  checkString(body, 'end_image_url', false, out);
  checkEnum(body, 'aspect_ratio', ASPECT_RATIOS, out);
  checkEnum(body, 'resolution', RESOLUTIONS, out);
  checkEnum(body, 'duration', DURATIONS, out);
  if (body.loop !== undefined && typeof body.loop !== 'boolean') {
    out.push({
      loc: ['body', 'loop'],
      msg: 'value could not be parsed to a boolean',
      type: 'type_error.bool',
    });
  }
  return out;
}
