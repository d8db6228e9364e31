// Application command registration (global and guild), validated like Discord so a bad
// definition fails in tests rather than at deploy time.
import { ApiError, isRecord, ok, type ParsedBody } from '../http.js';
import { route, type Route } from '../router.js';
import type { StoredCommand } from '../types.js';
import { formError } from '../validation.js';
import type { World } from '../world.js';

const NAME = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;

function checkNamed(
  value: Record<string, unknown>,
  path: (string | number)[],
  needsDescription: boolean,
): void {
  const name = value.name;
  if (typeof name !== 'string' || !NAME.test(name) || (needsDescription && name !== name.toLowerCase())) {
    throw formError([...path, 'name'], 'APPLICATION_COMMAND_INVALID_NAME', 'Command name is invalid');
  }
  if (!needsDescription) return;
  const description = value.description;
  if (typeof description !== 'string' || description.length < 1 || description.length > 100) {
    throw formError([...path, 'description'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
  }
}

function checkOptions(options: unknown, path: (string | number)[]): void {
  if (options === undefined) return;
  if (!Array.isArray(options) || options.length > 25) {
    throw formError(path, 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
  }
  options.forEach((option, i) => {
    if (!isRecord(option))
      throw formError([...path, i], 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
    checkNamed(option, [...path, i], true);
    if (Array.isArray(option.choices) && option.choices.length > 25) {
      throw formError([...path, i, 'choices'], 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
    }
    checkOptions(option.options, [...path, i, 'options']);
  });
}

function store(world: World, body: ParsedBody, into: StoredCommand[], guildId?: string): StoredCommand[] {
  if (!Array.isArray(body.json))
    throw formError([], 'BASE_TYPE_ARRAY', 'Could not interpret value as array.');
  const next = body.json.map((raw, i): StoredCommand => {
    if (!isRecord(raw))
      throw formError([i], 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
    const type = typeof raw.type === 'number' ? raw.type : 1;
    checkNamed(raw, [i], type === 1);
    checkOptions(raw.options, [i, 'options']);
    const name = String(raw.name);
    // Overwriting keeps the id of a command with the same name and type, as Discord does.
    const id = into.find((c) => c.name === name && c.type === type)?.id ?? world.nextId();
    return {
      default_member_permissions: null,
      nsfw: false,
      integration_types: [0],
      contexts: null,
      options: [],
      description: '',
      ...raw,
      id,
      application_id: world.botUser.id,
      name,
      type,
      version: world.nextId(),
      ...(guildId === undefined ? {} : { guild_id: guildId }),
    };
  });
  into.splice(0, into.length, ...next);
  return next;
}

function assertApp(world: World, appId: string | undefined, guildId?: string): void {
  if (appId !== world.botUser.id || (guildId !== undefined && guildId !== world.guildId)) {
    throw new ApiError(403, 50001, 'Missing Access');
  }
}

export const commandRoutes: Route[] = [
  route('GET', /^\/applications\/(\d+)\/commands$/, 'bot', ({ world, params }) => {
    assertApp(world, params[0]);
    return ok(world.commands);
  }),
  route('PUT', /^\/applications\/(\d+)\/commands$/, 'bot', ({ world, params, body }) => {
    assertApp(world, params[0]);
    return ok(store(world, body, world.commands));
  }),
  route('GET', /^\/applications\/(\d+)\/guilds\/(\d+)\/commands$/, 'bot', ({ world, params }) => {
    assertApp(world, params[0], params[1]);
    return ok(world.guildCommands);
  }),
  route('PUT', /^\/applications\/(\d+)\/guilds\/(\d+)\/commands$/, 'bot', ({ world, params, body }) => {
    assertApp(world, params[0], params[1]);
    return ok(store(world, body, world.guildCommands, params[1]));
  }),
];
