// /animate-admin: a server's own rules for /animate (credits, allowance, spend cap, channels,
// models, roles, blocks, the job limit, the prompt blocklist). Only members with Manage Server
// (or the bot's operators, ADMIN_USER_IDS) may use it; every reply is private and every change
// is logged with who made it, where, and what changed.
import { PermissionFlagsBits, type ChatInputCommandInteraction } from 'discord.js';
import { deferFirst } from '../discord/ack-first.js';
import { LIMITS, truncate } from '../discord/text.js';
import { Refusal, relativeTime } from '../failures.js';
import type { Logger } from '../logger.js';
import { isModelId, MODEL_IDS } from '../providers/catalog.js';
import { scopeFor, type AccountRef, type AdminChange } from '../store/economy.js';
import type { GuildSettings } from '../store/guild-settings.js';
import { nextPeriodStart } from '../store/periods.js';
import { animateAdminData } from './animate-admin-data.js';
import { renderStatement, statementOf } from './credits.js';
import { patternProblem } from './gate.js';
import type { Command, CommandDeps } from './types.js';

/** List sizes, so a list (and `settings`, which shows them all) stays within one message. */
export const MAX_CHANNELS = 25;
export const MAX_ROLES = 25;
export const MAX_PATTERNS = 30;

/** Whether this member may use /animate-admin here: Manage Server (Administrator implies it), or an operator. */
export function isAdmin(
  interaction: ChatInputCommandInteraction,
  adminUserIds: ReadonlySet<string>,
): boolean {
  if (adminUserIds.has(interaction.user.id)) return true;
  return interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild) ?? false;
}

interface Ctx {
  interaction: ChatInputCommandInteraction;
  deps: CommandDeps;
  guildId: string;
  adminId: string;
  /** "credits grant", "channels", ...: for the log. */
  subcommand: string;
  log: Logger;
}

/** Writes a settings change and logs it; `describe` says what changed (for the log). */
async function change(
  ctx: Ctx,
  edit: (s: GuildSettings) => GuildSettings,
  what: Record<string, unknown>,
): Promise<GuildSettings> {
  const saved = await ctx.deps.settings.update(ctx.guildId, edit);
  ctx.log.info(
    { adminId: ctx.adminId, guildId: ctx.guildId, subcommand: ctx.subcommand, change: what },
    'server settings changed',
  );
  return saved;
}

/** Mentions, as many as fit in `budget` characters, then "and N more". */
function fit(items: string[], budget = 1200): string {
  const shown: string[] = [];
  let used = 0;
  for (const item of items) {
    if (used + item.length + 2 > budget) break;
    shown.push(item);
    used += item.length + 2;
  }
  const rest = items.length - shown.length;
  return rest > 0 ? `${shown.join(', ')} and ${rest} more` : shown.join(', ');
}

const code = (text: string) => `\`${text.replace(/`/g, 'ˋ')}\``;

// ---- credits ----

async function credits(ctx: Ctx, sub: string): Promise<string> {
  const { interaction, deps } = ctx;
  const user = interaction.options.getUser('member', true);
  if (sub === 'show') {
    const statement = await statementOf(deps, user.id, ctx.guildId, { topUp: false });
    return renderStatement({ ...statement, about: user.id });
  }
  const amount = interaction.options.getInteger('amount', true);
  const reason = interaction.options.getString('reason')?.trim() ?? '';
  const account: AccountRef = { scope: scopeFor(deps.creditsScope, ctx.guildId), userId: user.id };
  const kind = sub === 'grant' ? 'grant' : sub === 'take' ? 'take' : 'set';
  const adjustment: AdminChange = { kind, amount };
  const { free, delta } = await deps.economy.adjust(account, adjustment, {
    key: interaction.id,
    by: ctx.adminId,
    reason,
  });
  ctx.log.info(
    {
      adminId: ctx.adminId,
      guildId: ctx.guildId,
      subcommand: ctx.subcommand,
      change: { member: user.id, scope: account.scope, kind, amount, delta, free, reason },
    },
    'credits changed by an admin',
  );
  const who = `<@${user.id}>`;
  switch (kind) {
    case 'grant':
      return `Granted **${delta}** credits to ${who}. They now have **${free}**.`;
    case 'take':
      return delta === -amount
        ? `Took **${amount}** credits from ${who}. They now have **${free}**.`
        : `Took **${-delta}** of the ${amount} credits asked from ${who}: that was their whole free balance (credits held for jobs in progress are untouched). They now have **${free}**.`;
    case 'set':
      return `Set ${who}'s free balance to **${free}** (${delta >= 0 ? '+' : '−'}${Math.abs(delta)}).`;
  }
}

// ---- money rules ----

async function allowance(ctx: Ctx): Promise<string> {
  const amount = ctx.interaction.options.getInteger('amount', true);
  const period = ctx.interaction.options.getString('period', true);
  if (period !== 'day' && period !== 'week' && period !== 'month') return `There is no period “${period}”.`;
  await change(
    ctx,
    (s) => {
      const { allowance: _old, ...rest } = s;
      return amount > 0 ? { ...rest, allowance: { amount, period } } : rest;
    },
    amount > 0 ? { allowance: { amount, period } } : { allowance: 'off' },
  );
  return amount > 0
    ? `Allowance set: once a ${PERIOD_TEXT[period]}, a member with fewer than **${amount}** free credits is topped up to ${amount} when they next use /animate, a rerun or /credits. This ${period} counts too.`
    : 'Allowance turned off.';
}

const PERIOD_TEXT = {
  day: 'day (UTC)',
  week: 'week (ISO, from Monday, UTC)',
  month: 'calendar month (UTC)',
} as const;

async function cap(ctx: Ctx): Promise<string> {
  const amount = ctx.interaction.options.getInteger('amount', true);
  const period = ctx.interaction.options.getString('period', true);
  if (period !== 'day' && period !== 'month') return `There is no period “${period}”.`;
  await change(
    ctx,
    (s) => {
      const { cap: _old, ...rest } = s;
      return amount > 0 ? { ...rest, cap: { amount, period } } : rest;
    },
    amount > 0 ? { cap: { amount, period } } : { cap: 'off' },
  );
  if (amount === 0) return 'Spend cap removed.';
  const used = await ctx.deps.economy.capUsed(ctx.guildId, period, ctx.deps.now());
  return `Spend cap set: this server spends at most **${amount}** credits per ${PERIOD_TEXT[period]}; ${used} used so far, resets ${relativeTime(nextPeriodStart(period, ctx.deps.now()))}. A request that would pass it is refused.`;
}

// ---- where and by whom ----

async function channels(ctx: Ctx): Promise<string> {
  const act = ctx.interaction.options.getString('action', true);
  const channel = ctx.interaction.options.getChannel('channel');
  if (act === 'list') return channelsLine(await ctx.deps.settings.get(ctx.guildId));
  if (act === 'clear') {
    await change(ctx, (s) => ({ ...s, channels: [] }), { channels: 'cleared' });
    return '/animate works in every channel again.';
  }
  if (!channel) return `Name the \`channel\` to ${act}.`;
  const { saved, full } = await editList(ctx, 'channels', act, channel.id, MAX_CHANNELS);
  if (full) return `The list is full (${MAX_CHANNELS} channels). Remove one first.`;
  return channelsLine(saved);
}

/** Adds or removes one id in a server's channel or role list, within the list's size limit. */
async function editList(
  ctx: Ctx,
  field: 'channels' | 'roles',
  act: string,
  id: string,
  max: number,
): Promise<{ saved: GuildSettings; full: boolean }> {
  let full = false;
  const saved = await change(
    ctx,
    (s) => {
      const list = s[field];
      if (act === 'remove') return { ...s, [field]: list.filter((x) => x !== id) };
      if (list.includes(id)) return s;
      if (list.length >= max) {
        full = true;
        return s;
      }
      return { ...s, [field]: [...list, id] };
    },
    { [field]: { [act]: id } },
  );
  return { saved, full };
}

const channelsLine = (s: GuildSettings): string =>
  s.channels.length === 0
    ? '/animate and reruns work in every channel.'
    : `/animate and reruns work only in ${fit(s.channels.map((c) => `<#${c}>`))} (and threads under them).`;

async function roles(ctx: Ctx): Promise<string> {
  const act = ctx.interaction.options.getString('action', true);
  const role = ctx.interaction.options.getRole('role');
  if (act === 'list') return rolesLine(await ctx.deps.settings.get(ctx.guildId));
  if (act === 'clear') {
    await change(ctx, (s) => ({ ...s, roles: [] }), { roles: 'cleared' });
    return 'Every member may use /animate again.';
  }
  if (!role) return `Name the \`role\` to ${act}.`;
  const { saved, full } = await editList(ctx, 'roles', act, role.id, MAX_ROLES);
  if (full) return `The list is full (${MAX_ROLES} roles). Remove one first.`;
  return rolesLine(saved);
}

const roleMention = (guildId: string, id: string) => (id === guildId ? '@everyone' : `<@&${id}>`);

function rolesLine(s: GuildSettings, guildId?: string): string {
  if (s.roles.length === 0) return 'Every member may use /animate and reruns.';
  const names = s.roles.map((r) => (guildId ? roleMention(guildId, r) : `<@&${r}>`));
  return `Only members with one of ${fit(names)} may use /animate and reruns.`;
}

async function models(ctx: Ctx): Promise<string> {
  const act = ctx.interaction.options.getString('action', true);
  const model = ctx.interaction.options.getString('model');
  if (act === 'list') return modelsLine(await ctx.deps.settings.get(ctx.guildId));
  if (model === null) return `Name the \`model\` to ${act}.`;
  if (!isModelId(model)) return `There is no model called “${model}”.`;
  const saved = await change(
    ctx,
    (s) => ({
      ...s,
      disabledModels:
        act === 'disable'
          ? [...new Set([...s.disabledModels, model])]
          : s.disabledModels.filter((m) => m !== model),
    }),
    { models: { [act]: model } },
  );
  return modelsLine(saved);
}

const modelsLine = (s: GuildSettings): string =>
  `Models: ${MODEL_IDS.map((id) => `${code(id)} ${s.disabledModels.includes(id) ? 'off' : 'on'}`).join(', ')}.`;

async function block(ctx: Ctx): Promise<string> {
  const user = ctx.interaction.options.getUser('member', true);
  const reason = ctx.interaction.options.getString('reason')?.trim();
  const entry = { ...(reason ? { reason } : {}), by: ctx.adminId, at: ctx.deps.now() };
  await change(ctx, (s) => ({ ...s, blocked: { ...s.blocked, [user.id]: entry } }), {
    block: { member: user.id, ...(reason ? { reason } : {}) },
  });
  return `<@${user.id}> may no longer use /animate or reruns in this server.`;
}

async function unblock(ctx: Ctx): Promise<string> {
  const user = ctx.interaction.options.getUser('member', true);
  let was = false;
  await change(
    ctx,
    (s) => {
      was = user.id in s.blocked;
      const { [user.id]: _gone, ...rest } = s.blocked;
      return { ...s, blocked: rest };
    },
    { unblock: user.id },
  );
  return was ? `<@${user.id}> may use /animate again.` : `<@${user.id}> was not blocked.`;
}

async function limit(ctx: Ctx): Promise<string> {
  const jobs = ctx.interaction.options.getInteger('jobs', true);
  await change(ctx, (s) => ({ ...s, jobLimit: jobs }), { jobLimit: jobs });
  return `A member may now run **${jobs}** job${jobs === 1 ? '' : 's'} at once in this server; more wait their turn.`;
}

async function blocklist(ctx: Ctx): Promise<string> {
  const act = ctx.interaction.options.getString('action', true);
  const pattern = ctx.interaction.options.getString('pattern')?.trim();
  if (act === 'list') return blocklistLine(await ctx.deps.settings.get(ctx.guildId));
  if (!pattern) return `Name the \`pattern\` to ${act}.`;
  const same = (p: string) => p.toLowerCase() === pattern.toLowerCase();
  if (act === 'add') {
    const problem = patternProblem(pattern);
    if (problem) return problem;
  }
  let outcome = 'done' as 'done' | 'full' | 'absent';
  const saved = await change(
    ctx,
    (s) => {
      if (act === 'remove') {
        if (!s.blocklist.some(same)) outcome = 'absent';
        return { ...s, blocklist: s.blocklist.filter((p) => !same(p)) };
      }
      if (s.blocklist.some(same)) return s;
      if (s.blocklist.length >= MAX_PATTERNS) {
        outcome = 'full';
        return s;
      }
      return { ...s, blocklist: [...s.blocklist, pattern] };
    },
    { blocklist: { [act]: pattern } },
  );
  if (outcome === 'full') return `The blocklist is full (${MAX_PATTERNS} patterns). Remove one first.`;
  if (outcome === 'absent') return `${code(pattern)} is not on the blocklist.`;
  return blocklistLine(saved);
}

function blocklistLine(s: GuildSettings): string {
  if (s.blocklist.length === 0) return 'No prompt blocklist.';
  return `Prompts may not contain: ${fit(
    s.blocklist.map((p) => code(truncate(p, 40))),
    900,
  )} (words match whole words in any case; /…/ are regular expressions).`;
}

// ---- everything ----

async function settings(ctx: Ctx): Promise<string> {
  const s = await ctx.deps.settings.get(ctx.guildId);
  const now = ctx.deps.now();
  const blocked = Object.keys(s.blocked);
  const capLine = s.cap
    ? `Spend cap: **${s.cap.amount}** credits per ${PERIOD_TEXT[s.cap.period]}; ${await ctx.deps.economy.capUsed(ctx.guildId, s.cap.period, now)} used, resets ${relativeTime(nextPeriodStart(s.cap.period, now))}.`
    : 'Spend cap: none.';
  return [
    '**/animate settings for this server**',
    s.allowance
      ? `Allowance: topped up to **${s.allowance.amount}** once a ${PERIOD_TEXT[s.allowance.period]}; next ${relativeTime(nextPeriodStart(s.allowance.period, now))}.`
      : 'Allowance: off.',
    capLine,
    `Channels: ${channelsLine(s)}`,
    `Roles: ${rolesLine(s, ctx.guildId)}`,
    modelsLine(s),
    `Blocked: ${
      blocked.length === 0
        ? 'nobody'
        : fit(
            blocked.map((id) => `<@${id}>`),
            300,
          )
    }.`,
    `Jobs per member: ${s.jobLimit === undefined ? 'the bot’s default' : `**${s.jobLimit}**`}.`,
    `Blocklist: ${blocklistLine(s)}`,
    `Credits: ${ctx.deps.creditsScope === 'global' ? 'one balance per member across every server' : 'a balance per member in this server'}.`,
  ].join('\n');
}

export const animateAdmin = {
  data: animateAdminData,

  async execute(interaction: ChatInputCommandInteraction, deps: CommandDeps) {
    // Both refusals need no I/O: answered at once, before the deferral.
    if (!interaction.inGuild()) throw new Refusal({ code: 'guild_only' });
    if (!isAdmin(interaction, deps.adminUserIds)) throw new Refusal({ code: 'not_admin' });
    await deferFirst(interaction, deps.acks);

    const group = interaction.options.getSubcommandGroup(false);
    const sub = interaction.options.getSubcommand(true);
    const subcommand = group ? `${group} ${sub}` : sub;
    const ctx: Ctx = {
      interaction,
      deps,
      guildId: interaction.guildId,
      adminId: interaction.user.id,
      subcommand,
      log: deps.log.child({ command: 'animate-admin', guildId: interaction.guildId }),
    };
    const handlers: Record<string, () => Promise<string>> = {
      allowance: () => allowance(ctx),
      cap: () => cap(ctx),
      channels: () => channels(ctx),
      models: () => models(ctx),
      roles: () => roles(ctx),
      block: () => block(ctx),
      unblock: () => unblock(ctx),
      limit: () => limit(ctx),
      blocklist: () => blocklist(ctx),
      settings: () => settings(ctx),
    };
    const handler = group === 'credits' ? () => credits(ctx, sub) : handlers[sub];
    const content = handler ? await handler() : 'This is no longer available.';
    await interaction.editReply({
      content: truncate(content, LIMITS.content),
      allowedMentions: { parse: [] },
    });
  },
} satisfies Command;
