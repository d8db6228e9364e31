// /credits: the member's balance where they are (this server, their DMs, or everywhere with
// CREDITS_SCOPE=global), credits held for jobs in progress, the next allowance top-up and the
// latest entries, privately. `renderStatement` is shared with /animate-admin credits show.
import { escapeMarkdown, type ChatInputCommandInteraction } from 'discord.js';
import { relativeTime } from '../failures.js';
import { deferFirst } from '../discord/ack-first.js';
import { LIMITS, truncate } from '../discord/text.js';
import {
  scopeFor,
  type AccountRef,
  type Allowance,
  type LedgerEntry,
  type Wallet,
} from '../store/economy.js';
import { NO_SETTINGS } from '../store/guild-settings.js';
import { nextPeriodStart } from '../store/periods.js';
import type { Command, CommandDeps } from './types.js';

/** Entries shown in a statement. */
export const STATEMENT_ENTRIES = 10;
/** An entry's note (an admin's reason, what a job was) is cut to this many characters. */
const NOTE_MAX = 80;

const PERIOD_WORD: Record<Allowance['period'], string> = { day: 'day', week: 'week', month: 'month' };

export interface Statement {
  account: AccountRef;
  wallet: Wallet;
  /** Newest first. */
  entries: LedgerEntry[];
  allowance?: Allowance | undefined;
  now: number;
  /** Whose statement it is, for an admin's view; absent when the member reads their own. */
  about?: string;
}

function where(scope: string): string {
  if (scope === 'global') return '';
  return scope === 'dm' ? ' for DMs' : ' in this server';
}

function entryLine(e: LedgerEntry): string {
  const note =
    e.note.trim() === '' ? '' : ` · ${escapeMarkdown(truncate(e.note.replace(/\s+/g, ' '), NOTE_MAX))}`;
  const sign = e.delta > 0 ? `+${e.delta}` : e.delta < 0 ? `−${-e.delta}` : '±0';
  const what: Record<LedgerEntry['kind'], string> = {
    // Starting credits and a carried-over balance are grants the bot made itself.
    grant: e.by === undefined ? 'granted' : 'granted by an admin',
    take: 'taken by an admin',
    set: `set to ${e.amount} by an admin`,
    allowance: 'allowance',
    hold: 'reserved',
    spend: `charged ${e.amount}`,
    refund: 'refunded',
  };
  return `\`${sign.padStart(6)}\` ${what[e.kind]}${note} · ${relativeTime(e.at)}`;
}

/** The statement as one message, within Discord's 2,000 characters. */
export function renderStatement(s: Statement): string {
  const held = s.wallet.held > 0 ? ` (and **${s.wallet.held}** held for jobs in progress)` : '';
  const head = s.about
    ? `<@${s.about}> has **${s.wallet.free}** credits${where(s.account.scope)}${held}.`
    : `You have **${s.wallet.free}** credits${where(s.account.scope)}${held}.`;
  const lines = [head];
  if (s.allowance && s.allowance.amount > 0) {
    lines.push(
      `Allowance: topped up to **${s.allowance.amount}** once a ${PERIOD_WORD[s.allowance.period]}; next ${relativeTime(nextPeriodStart(s.allowance.period, s.now))}.`,
    );
  }
  const recent = s.entries.slice(0, STATEMENT_ENTRIES).map(entryLine);
  if (recent.length > 0) lines.push('', 'Recent:', ...recent);
  return truncate(lines.join('\n'), LIMITS.content);
}

/**
 * Reads one account's statement where `guildId` is (null: a DM). The member's own /credits
 * applies a due allowance first (it is one of the actions that top up); an admin looking at it
 * (`topUp: false`) does not act for them.
 */
export async function statementOf(
  deps: Pick<CommandDeps, 'economy' | 'settings' | 'creditsScope' | 'now'>,
  userId: string,
  guildId: string | null,
  opts: { topUp: boolean } = { topUp: true },
): Promise<Statement> {
  const account = { scope: scopeFor(deps.creditsScope, guildId), userId };
  const rules = guildId === null ? NO_SETTINGS : await deps.settings.get(guildId);
  const wallet = await deps.economy.wallet(account, opts.topUp ? rules.allowance : undefined);
  const entries = await deps.economy.entries(account, STATEMENT_ENTRIES);
  return { account, wallet, entries, allowance: rules.allowance, now: deps.now() };
}

export const credits = {
  data: { name: 'credits', description: 'Show your credit balance and recent charges' },

  async execute(interaction: ChatInputCommandInteraction, deps: CommandDeps) {
    // The store may be slow (a remote Redis): acknowledge within Discord's 3 s first.
    await deferFirst(interaction, deps.acks);
    const statement = await statementOf(deps, interaction.user.id, interaction.guildId);
    await interaction.editReply({ content: renderStatement(statement), allowedMentions: { parse: [] } });
  },
} satisfies Command;
