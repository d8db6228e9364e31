// Discord's own OpenAPI description (spec/openapi.json) as the fake's request validator: every REST
// body is checked against the request schema of its operation (method + path template) with ajv.
// The spec is read on first use, each operation's validator is compiled on first use and cached,
// and a violation is answered the way Discord does (400 / 50035 "Invalid Form Body").
import { readFileSync } from 'node:fs';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { formError, isRecord, type ParsedBody } from './http.js';

type Schema = Record<string, unknown>;

/** Where the schemas live once loaded; `$ref`s into `#/components/schemas/X` are rewritten to it. */
const ROOT = 'https://fake-discord.invalid/openapi.json';
const SPEC_URL = new URL('./spec/openapi.json', import.meta.url);

interface RequestBody {
  required?: boolean;
  content?: Record<string, { schema?: Schema }>;
}

interface Operation {
  id: string;
  method: string;
  template: string;
  pattern: RegExp;
  /** Path segments that are not `{parameters}`; more literal templates win (`@original` over `{message_id}`). */
  literals: number;
  body?: RequestBody;
}

/**
 * Routes the fake serves that the spec does not describe, with the body Discord accepts.
 * POST /attachments/refresh-urls is real but undocumented (discord.js calls it for expired CDN links).
 */
const EXTRA_OPERATIONS: Omit<Operation, 'pattern' | 'literals'>[] = [
  {
    id: 'refresh_attachment_urls (not in the spec)',
    method: 'POST',
    template: '/attachments/refresh-urls',
    body: {
      required: true,
      content: {
        'application/json': {
          schema: {
            type: 'object',
            properties: {
              attachment_urls: {
                type: 'array',
                items: { type: 'string', maxLength: 2048, format: 'uri' },
                minItems: 1,
                maxItems: 50,
              },
            },
            required: ['attachment_urls'],
          },
        },
      },
    },
  },
];

/** A change to one component schema (or one of its properties) where the spec is stricter than Discord. */
interface SpecOverride {
  schema: string;
  property?: string;
  /** Gets the spec's schema (refs already rewritten) and returns the one to use. */
  patch: (original: Schema) => Schema;
  why: string;
}

const PERMISSIONS_WHY =
  'Discord documents and returns permissions as a string of digits, and discord.js sends them so; the spec says integer only';

/**
 * Where the spec is stricter than Discord itself, each with the reason (also in spec/README.md).
 * Each widens one schema by exactly what Discord accepts; no route is ever exempt from checking.
 */
export const SPEC_OVERRIDES: SpecOverride[] = [
  {
    schema: 'ChannelTypes',
    patch: (original) => ({
      ...original,
      oneOf: [...(original.oneOf as unknown[]), { title: 'GUILD_MEDIA', const: 16 }],
    }),
    why: "GUILD_MEDIA (16) is a documented channel type, valid in a channel option's channel_types; the enum lacks it",
  },
  ...[
    'ApplicationCommandCreateRequest',
    'ApplicationCommandUpdateRequest',
    'ApplicationCommandPatchRequestPartial',
  ].map((schema): SpecOverride => ({
    schema,
    property: 'default_member_permissions',
    patch: (original) => ({
      ...original,
      type: ['string', 'integer', 'null'],
      pattern: '^[0-9]{1,20}$',
    }),
    why: PERMISSIONS_WHY,
  })),
];

interface Loaded {
  ajv: Ajv2020;
  operations: Operation[];
  validators: Map<string, ValidateFunction>;
}

let loaded: Loaded | undefined;

function templatePattern(template: string): RegExp {
  const source = template
    .split('/')
    .map((segment) => (/^\{\w+\}$/.test(segment) ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}$`);
}

function operation(op: Omit<Operation, 'pattern' | 'literals'>): Operation {
  const literals = op.template.split('/').filter((s) => s !== '' && !s.startsWith('{')).length;
  return { ...op, pattern: templatePattern(op.template), literals };
}

/** Deep copy with every `#/components/schemas/X` reference pointed at the registered root. */
function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (!isRecord(value)) return value;
  const out: Schema = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] =
      key === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/')
        ? `${ROOT}#/$defs/${v.slice('#/components/schemas/'.length)}`
        : rewriteRefs(v);
  }
  return out;
}

function resolve(schema: unknown, defs: Record<string, Schema>): Schema | undefined {
  let s = schema;
  for (let hops = 0; hops < 10 && isRecord(s) && typeof s.$ref === 'string'; hops++) {
    s = defs[s.$ref.slice(`${ROOT}#/$defs/`.length)];
  }
  return isRecord(s) ? s : undefined;
}

/** The values a union member's required `type` property may take, if it has that shape. */
function tagsOf(member: unknown, defs: Record<string, Schema>): unknown[] | undefined {
  const s = resolve(member, defs);
  if (s === undefined || !isRecord(s.properties) || !Array.isArray(s.required)) return undefined;
  const tag = s.properties.type;
  if (!s.required.includes('type') || !isRecord(tag)) return undefined;
  if ('const' in tag) return [tag.const];
  return Array.isArray(tag.enum) ? tag.enum : undefined;
}

/**
 * Rewrites two union shapes of the spec into equivalent schemas whose errors say what is wrong
 * (ajv would otherwise report a failure for every member of the union):
 * - `oneOf` of bare `const`s (Discord's enums, e.g. ButtonStyleTypes) becomes `enum`;
 * - `oneOf` (or `anyOf` marked `x-discord-union: oneOf`) of objects told apart by a required
 *   `type` with disjoint values (components, interaction callbacks) becomes "`type` is one of
 *   them" plus, per member, "if `type` is this member's, the member's schema applies".
 * Both accept exactly what the original accepts; nothing is loosened.
 */
function simplify(node: unknown, defs: Record<string, Schema>): void {
  if (Array.isArray(node)) {
    for (const item of node) simplify(item, defs);
    return;
  }
  if (!isRecord(node)) return;
  for (const value of Object.values(node)) simplify(value, defs);
  const unionKey = Array.isArray(node.oneOf)
    ? 'oneOf'
    : node['x-discord-union'] === 'oneOf' && Array.isArray(node.anyOf)
      ? 'anyOf'
      : undefined;
  if (unionKey === undefined) return;
  const members = node[unionKey] as unknown[];
  const consts = members.map((m) =>
    isRecord(m) && 'const' in m && Object.keys(m).every((k) => ['const', 'title', 'description'].includes(k))
      ? m.const
      : undefined,
  );
  if (members.length > 0 && consts.every((c) => c !== undefined) && new Set(consts).size === consts.length) {
    delete node[unionKey];
    node.enum = consts;
    return;
  }
  const tags = members.map((m) => tagsOf(m, defs));
  const all = tags.flatMap((t) => t ?? []);
  if (members.length < 2 || tags.some((t) => t === undefined) || new Set(all).size !== all.length) return;
  delete node[unionKey];
  delete node['x-discord-union'];
  const picks = members.map((member, i) => ({
    if: { type: 'object', properties: { type: { enum: tags[i] } }, required: ['type'] },
    then: member,
  }));
  node.allOf = [
    ...(Array.isArray(node.allOf) ? (node.allOf as unknown[]) : []),
    { type: 'object', properties: { type: { enum: all } }, required: ['type'] },
    ...picks,
  ];
}

interface Spec {
  openapi: string;
  paths: Record<string, Record<string, { operationId?: string; requestBody?: RequestBody }>>;
  components: { schemas: Record<string, Schema> };
}

function load(): Loaded {
  if (loaded !== undefined) return loaded;
  const spec = JSON.parse(readFileSync(SPEC_URL, 'utf8')) as Spec;
  // OpenAPI 3.1 schemas are JSON Schema 2020-12; a 3.0 spec would need `nullable` handling instead.
  if (!/^3\.1\./.test(spec.openapi)) {
    throw new Error(`fake Discord: spec/openapi.json is OpenAPI ${spec.openapi}; the validator expects 3.1`);
  }
  const defs = rewriteRefs(spec.components.schemas) as Record<string, Schema>;
  for (const o of SPEC_OVERRIDES) {
    const target = defs[o.schema];
    const properties = target?.properties;
    if (o.property === undefined && target !== undefined) defs[o.schema] = o.patch(target);
    else if (o.property !== undefined && isRecord(properties) && isRecord(properties[o.property]))
      properties[o.property] = o.patch(properties[o.property] as Schema);
    else throw new Error(`fake Discord: spec override ${o.schema}.${o.property ?? ''} matches nothing`);
  }
  simplify(defs, defs);
  const ajv = new Ajv2020({
    strict: true,
    // `"type": ["string", "null"]` is how 3.1 writes a nullable field.
    allowUnionTypes: true,
    // Schemas here are Discord's, not ours: skip checking the 1 MB of them against the meta-schema.
    validateSchema: false,
    // Share each component's compiled code between operations instead of inlining it into each.
    inlineRefs: false,
  });
  addFormatsModule.default(ajv);
  // Discord's own formats; `snowflake` also carries a pattern, `nonce` a maxLength, so these add nothing.
  ajv.addFormat('snowflake', true);
  ajv.addFormat('nonce', true);
  ajv.addKeyword({ keyword: 'x-discord-union', schemaType: 'string' });
  ajv.addSchema({ $id: ROOT, $defs: defs });
  const operations: Operation[] = [];
  for (const [template, methods] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (!isRecord(op) || method === 'parameters') continue;
      operations.push(
        operation({
          id: op.operationId ?? `${method} ${template}`,
          method: method.toUpperCase(),
          template,
          ...(op.requestBody === undefined ? {} : { body: rewriteRefs(op.requestBody) as RequestBody }),
        }),
      );
    }
  }
  operations.push(...EXTRA_OPERATIONS.map(operation));
  operations.sort((a, b) => b.literals - a.literals);
  for (const op of operations) {
    for (const media of Object.values(op.body?.content ?? {}))
      if (media.schema !== undefined) simplify(media.schema, defs);
  }
  loaded = { ajv, operations, validators: new Map() };
  return loaded;
}

/** The spec operation for a request, e.g. `create_message` for POST /channels/1/messages. */
export function findOperation(method: string, path: string): Operation | undefined {
  return load().operations.find((op) => op.method === method && op.pattern.test(path));
}

function validatorFor(op: Operation, media: string): ValidateFunction | undefined {
  const { ajv, validators } = load();
  const key = `${op.method} ${op.template} ${media}`;
  let validate = validators.get(key);
  if (validate === undefined) {
    const schema = op.body?.content?.[media]?.schema;
    if (schema === undefined) return undefined;
    validate = ajv.compile(schema);
    validators.set(key, validate);
  }
  return validate;
}

const COMBINATORS = new Set(['oneOf', 'anyOf', 'allOf', 'if', 'not', '$ref']);

function depth(e: ErrorObject): number {
  const segments = e.instancePath === '' ? 0 : e.instancePath.split('/').length - 1;
  return e.keyword === 'required' ? segments + 1 : segments;
}

/**
 * The error to report: the deepest one that is not a union's summary, preferring the real
 * member over the `null` alternative of a nullable field (`oneOf: [{type: null}, {...}]`).
 */
function pick(errors: ErrorObject[]): ErrorObject | undefined {
  const concrete = errors.filter((e) => !COMBINATORS.has(e.keyword));
  const pool = concrete.length > 0 ? concrete : errors;
  const nullOnly = (e: ErrorObject): number => (e.keyword === 'type' && e.params.type === 'null' ? 1 : 0);
  return [...pool].sort((a, b) => depth(b) - depth(a) || nullOnly(a) - nullOnly(b))[0];
}

function pathOf(e: ErrorObject): (string | number)[] {
  const segments = e.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  if (e.keyword === 'required') segments.push(String(e.params.missingProperty));
  return segments;
}

/** SnowflakeType's pattern: a failure to match it is Discord's "is not snowflake". */
const SNOWFLAKE_PATTERN = '^(0|[1-9][0-9]*)$';

const show = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

const choices = (values: unknown[]): string =>
  (values.every((v) => typeof v === 'number') ? [...values].sort((a, b) => a - b) : values)
    .map(show)
    .join(', ');

const TYPE_ERRORS: Record<string, (value: unknown) => [string, string]> = {
  string: () => ['BASE_TYPE_STRING', 'Could not interpret value as string.'],
  integer: (v) => ['NUMBER_TYPE_COERCE', `Value "${show(v)}" is not int.`],
  number: (v) => ['NUMBER_TYPE_COERCE', `Value "${show(v)}" is not a valid number.`],
  boolean: () => ['BASE_TYPE_BOOLEAN', 'Must be either true or false.'],
  array: () => ['LIST_TYPE_CONVERT', 'Only iterables may be used in a ListType'],
  object: () => ['MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType'],
};

/** Discord's error code and message for an ajv error. */
function describe(e: ErrorObject, value: unknown): [string, string] {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'type': {
      const wanted = String(p.type)
        .split(',')
        .find((t) => t !== 'null');
      return (TYPE_ERRORS[wanted ?? ''] ?? (() => ['BASE_TYPE_NULL', 'Must be null.']))(value);
    }
    case 'required':
      return ['BASE_TYPE_REQUIRED', 'This field is required'];
    case 'maxLength':
    case 'maxItems':
    case 'maxProperties':
      return ['BASE_TYPE_MAX_LENGTH', `Must be ${String(p.limit)} or fewer in length.`];
    case 'minLength':
    case 'minItems':
    case 'minProperties':
      return ['BASE_TYPE_MIN_LENGTH', `Must be ${String(p.limit)} or more in length.`];
    case 'enum':
      return ['BASE_TYPE_CHOICES', `Value must be one of {${choices(p.allowedValues as unknown[])}}.`];
    case 'const':
      return ['BASE_TYPE_CHOICES', `Value must be one of {${show(p.allowedValue)}}.`];
    case 'minimum':
    case 'exclusiveMinimum':
      return ['NUMBER_TYPE_MIN', `int value should be greater than or equal to ${String(p.limit)}.`];
    case 'maximum':
    case 'exclusiveMaximum':
      return ['NUMBER_TYPE_MAX', `int value should be less than or equal to ${String(p.limit)}.`];
    case 'pattern':
      return p.pattern === SNOWFLAKE_PATTERN
        ? ['NUMBER_TYPE_COERCE', `Value "${show(value)}" is not snowflake.`]
        : ['STRING_TYPE_REGEX', `String value did not match validation regex.`];
    case 'format':
      if (p.format === 'uri') return ['URL_TYPE_INVALID_URL', 'Not a well formed URL.'];
      if (p.format === 'date-time')
        return ['DATE_TYPE_PARSE', `Could not parse ${show(value)}. Should be ISO8601.`];
      return ['NUMBER_TYPE_COERCE', `Value "${show(value)}" is not ${String(p.format)}.`];
    case 'uniqueItems':
      return ['SET_TYPE_ALREADY_CONTAINS_VALUE', 'The set already contains this value.'];
    default:
      return [`SCHEMA_${e.keyword.toUpperCase()}`, e.message ?? 'Invalid value.'];
  }
}

function valueAt(data: unknown, path: (string | number)[]): unknown {
  let v = data;
  for (const key of path)
    v = isRecord(v) || Array.isArray(v) ? (v as Record<string, unknown>)[key] : undefined;
  return v;
}

/**
 * Checks a request body against the spec; throws Discord's 400 form error when it does not fit.
 * Returns the operation (undefined for paths the spec does not know, which are 404 anyway).
 */
export function validateAgainstSpec(
  method: string,
  path: string,
  body: ParsedBody,
  contentType: string | undefined,
): Operation | undefined {
  const op = findOperation(method, path);
  const hasBody = body.json !== undefined || body.files.length > 0;
  if (op === undefined) {
    if (hasBody) throw new Error(`fake Discord: no spec operation for ${method} ${path} to check its body`);
    return undefined;
  }
  if (op.body === undefined || (!hasBody && op.body.required !== true)) return op;
  const multipart = contentType?.startsWith('multipart/form-data') === true;
  const media =
    multipart && op.body.content?.['multipart/form-data'] !== undefined
      ? 'multipart/form-data'
      : 'application/json';
  const validate = validatorFor(op, media);
  if (validate === undefined) {
    throw new Error(
      `fake Discord: ${op.id} takes no ${media} body (${Object.keys(op.body.content ?? {}).join(', ')})`,
    );
  }
  // A multipart request's form fields are its `payload_json`; an absent body is an empty form.
  const data = body.json === undefined ? {} : body.json;
  if (validate(data)) return op;
  const error = pick(validate.errors ?? []);
  if (error === undefined) throw formError([], 'BASE_TYPE_INVALID', 'Invalid Form Body');
  const at = pathOf(error);
  const [code, message] = describe(error, valueAt(data, error.keyword === 'required' ? [] : at));
  throw formError(at, code, message);
}
