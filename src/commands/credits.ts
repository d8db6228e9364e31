// /credits: the member's balance and their latest ledger entries, privately.
import { MessageFlags, type ChatInputCommandInteraction } from 'discord.js';
import type { LedgerEntry } from '../store/ledger.js';
import type { Command, CommandDeps } from './types.js';

const STATE_WORD: Record<LedgerEntry['state'], string> = {
  held: 'reserved',
  spent: 'charged',
  refunded: 'refunded',
};

export const credits = {
  data: { name: 'credits', description: 'Show your credit balance and recent charges' },

  async execute(interaction: ChatInputCommandInteraction, deps: CommandDeps) {
    // The store may be slow (a remote Redis): acknowledge within Discord's 3 s first.
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const { balance, entries } = await deps.ledger.statement(interaction.user.id, 10);
    const lines = entries.map((e) => {
      const sign = e.state === 'refunded' ? '±0' : `−${e.amount}`;
      return `\`${sign.padStart(5)}\` ${STATE_WORD[e.state]} · ${e.note} · <t:${Math.floor(e.updatedAt / 1000)}:R>`;
    });
    const content = [
      `You have **${balance}** credits.`,
      ...(lines.length ? ['', 'Recent:', ...lines] : []),
    ].join('\n');
    await interaction.editReply({ content, allowedMentions: { parse: [] } });
  },
} satisfies Command;
