// Whether a member may use /animate or a rerun here, by the server's own rules (/animate-admin):
// blocked members, the channel list (a thread counts as its parent), the role list, disabled
// models and the prompt blocklist. Checked before anything is quoted or charged. Admins are not
// exempt: the rules are the server's, and an admin can change them.
import { createContext, runInContext } from 'node:vm';
import {
  GuildMember,
  type APIInteractionGuildMember,
  type ChatInputCommandInteraction,
  type Client,
} from 'discord.js';
import { promptOf } from '../engine/enhance.js';
import type { Failure } from '../failures.js';
import type { ModelId } from '../providers/catalog.js';
import { NO_SETTINGS, type GuildSettings, type GuildSettingsStore } from '../store/guild-settings.js';
import type { JobRecord } from '../store/jobs.js';

/** The facts about one request that the rules look at. */
export interface GateRequest {
  userId: string;
  /** The channel the request is used in (for a rerun: where it will post). */
  channelId: string;
  /** The parent channel when `channelId` is a thread; undefined otherwise. */
  threadParentId?: string | undefined;
  /** The member's role ids in this server (the @everyone role's id, the server id, included). */
  roleIds: ReadonlySet<string>;
  model: ModelId;
  prompt: string;
  rerun?: boolean;
}

/** The first rule the request breaks, as the failure the member is told; undefined when none. */
export function checkGate(settings: GuildSettings, request: GateRequest): Failure | undefined {
  const rerun = request.rerun ? { rerun: true } : {};
  if (settings.blocked[request.userId]) return { code: 'blocked', ...rerun };
  if (settings.channels.length > 0) {
    const here = [request.channelId, request.threadParentId].filter((id): id is string => !!id);
    if (!here.some((id) => settings.channels.includes(id))) {
      return { code: 'channel_not_allowed', channels: settings.channels, ...rerun };
    }
  }
  if (settings.roles.length > 0 && !settings.roles.some((id) => request.roleIds.has(id))) {
    return { code: 'role_required', ...rerun };
  }
  if (settings.disabledModels.includes(request.model)) {
    return { code: 'model_disabled', model: request.model, ...rerun };
  }
  if (blocklistMatch(settings.blocklist, request.prompt) !== undefined) {
    return { code: 'prompt_blocked', ...rerun };
  }
  return undefined;
}

// ---- the prompt blocklist ----

/** Longest a blocklist pattern may be (the /animate-admin option says so too). */
export const PATTERN_MAX = 100;
/** How long one admin-written regex may run against a prompt before it counts as a match. */
const REGEX_BUDGET_MS = 50;

const isRegexPattern = (pattern: string): boolean =>
  pattern.length >= 3 && pattern.startsWith('/') && pattern.endsWith('/');

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A plain word (or phrase) matches as a whole word, case-insensitively: "cat" matches "Cat!" but
 * not "concatenate". A word that starts or ends with a non-word character ("c++") needs no
 * boundary on that side.
 */
function wordRegex(word: string): RegExp {
  const wordChar = /[\p{L}\p{N}_]/u;
  const before = wordChar.test(word.at(0) ?? '') ? '(?<![\\p{L}\\p{N}_])' : '';
  const after = wordChar.test(word.at(-1) ?? '') ? '(?![\\p{L}\\p{N}_])' : '';
  return new RegExp(`${before}${escape(word)}${after}`, 'iu');
}

/** Why a pattern cannot go on the blocklist, or undefined when it can. */
export function patternProblem(pattern: string): string | undefined {
  if (pattern.trim().length === 0 || pattern.length > PATTERN_MAX) {
    return `A pattern is 1 to ${PATTERN_MAX} characters.`;
  }
  if (!isRegexPattern(pattern)) return undefined;
  try {
    new RegExp(pattern.slice(1, -1), 'iu');
    return undefined;
  } catch (error) {
    return `That is not a valid regular expression: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/**
 * One context for running admin-written regexes under a time limit: a pattern that backtracks
 * catastrophically on some prompt would otherwise stall the whole bot. A regex that runs out of
 * time counts as a match (the prompt is refused, not waved through).
 */
let sandbox: ReturnType<typeof createContext> | undefined;

function regexMatches(source: string, prompt: string): boolean {
  sandbox ??= createContext({});
  sandbox.source = source;
  sandbox.prompt = prompt;
  try {
    return runInContext('new RegExp(source, "iu").test(prompt)', sandbox, {
      timeout: REGEX_BUDGET_MS,
    }) as boolean;
  } catch {
    return true;
  }
}

/** The first blocklist pattern the prompt matches, or undefined. */
export function blocklistMatch(patterns: readonly string[], prompt: string): string | undefined {
  return patterns.find((pattern) =>
    isRegexPattern(pattern) ? regexMatches(pattern.slice(1, -1), prompt) : wordRegex(pattern).test(prompt),
  );
}

// ---- where the facts come from: an interaction, or a 🔁 reaction ----

/** The parent channel when `channelId` is a thread: from discord.js's cache, else fetched. */
async function threadParent(client: Client, channelId: string): Promise<string | undefined> {
  const channel =
    client.channels.cache.get(channelId) ?? (await client.channels.fetch(channelId).catch(() => null));
  return channel?.isThread() ? (channel.parentId ?? undefined) : undefined;
}

/** A member's role ids, from a cached GuildMember or the raw member an interaction carries. */
function rolesOf(member: GuildMember | APIInteractionGuildMember | null, guildId: string): Set<string> {
  const ids = member instanceof GuildMember ? [...member.roles.cache.keys()] : (member?.roles ?? []);
  return new Set([guildId, ...ids]);
}

/** The server's rules for an /animate; undefined when it may go ahead (DMs have no server rules). */
export async function gateCommand(
  interaction: ChatInputCommandInteraction,
  settings: GuildSettingsStore,
  request: { model: ModelId; prompt: string },
): Promise<Failure | undefined> {
  if (!interaction.inGuild()) return undefined;
  const rules = await settings.get(interaction.guildId);
  if (rules === NO_SETTINGS) return undefined;
  const threadParentId =
    rules.channels.length > 0 ? await threadParent(interaction.client, interaction.channelId) : undefined;
  return checkGate(rules, {
    userId: interaction.user.id,
    channelId: interaction.channelId,
    threadParentId,
    roleIds: rolesOf(interaction.member, interaction.guildId),
    ...request,
  });
}

/** The reaction a rerun comes from: who, and the roles its dispatch carried (guild reactions only). */
export interface Reactor {
  userId: string;
  guildId?: string | undefined;
  roleIds?: readonly string[] | undefined;
}

/**
 * The server's rules for a 🔁 rerun of `original`: the server and channel it will run and post
 * in, the reactor's roles there (from the reaction, else fetched; none when they are not a member).
 */
export async function gateRerun(
  client: Client,
  settings: GuildSettingsStore,
  reactor: Reactor,
  original: Pick<JobRecord, 'guildId' | 'channelId' | 'discord' | 'request'>,
): Promise<Failure | undefined> {
  const guildId = original.guildId;
  if (guildId === null) return undefined;
  const rules = await settings.get(guildId);
  if (rules === NO_SETTINGS) return undefined;
  const channelId = original.discord.threadId ?? original.channelId;
  let roleIds: Set<string> = new Set([guildId]);
  if (rules.roles.length > 0) {
    if (reactor.guildId === guildId && reactor.roleIds) roleIds = new Set([guildId, ...reactor.roleIds]);
    else {
      const member = await client.guilds.cache
        .get(guildId)
        ?.members.fetch({ user: reactor.userId, force: true })
        .catch(() => null);
      roleIds = rolesOf(member ?? null, guildId);
    }
  }
  // Where the command was used counts too: a rerun's thread hangs off the original channel.
  const threadParentId =
    rules.channels.length > 0
      ? ((await threadParent(client, channelId)) ??
        (channelId !== original.channelId ? original.channelId : undefined))
      : undefined;
  return checkGate(rules, {
    userId: reactor.userId,
    channelId,
    threadParentId,
    roleIds,
    model: original.request.model,
    prompt: promptOf(original),
    rerun: true,
  });
}
