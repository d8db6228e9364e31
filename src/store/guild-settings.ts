// A server's own rules, set with /animate-admin: its allowance and spend cap, where and by whom
// /animate may be used, which models are off, who is blocked, the per-member job limit and the
// prompt blocklist. One record per server; an absent record means "no rules".
import type { ModelId } from '../providers/catalog.js';
import type { Allowance } from './economy.js';

export interface GuildSettings {
  allowance?: Allowance;
  cap?: { amount: number; period: 'day' | 'month' };
  /** Channel ids; empty = everywhere. Threads count as their parent channel. */
  channels: string[];
  /** Role ids; empty = everyone. */
  roles: string[];
  disabledModels: ModelId[];
  blocked: Record<string, { reason?: string; by: string; at: number }>;
  /** Overrides MAX_ACTIVE_JOBS_PER_MEMBER in this server. */
  jobLimit?: number;
  /** Plain words (whole-word, case-insensitive) or `/regex/` patterns. */
  blocklist: string[];
}

export const NO_SETTINGS: GuildSettings = Object.freeze({
  channels: [],
  roles: [],
  disabledModels: [],
  blocked: {},
  blocklist: [],
});

export interface GuildSettingsStore {
  /** The server's settings; NO_SETTINGS when it has none. */
  get(guildId: string): Promise<GuildSettings>;
  /** Read-modify-write of one server's settings; returns what was stored. */
  update(guildId: string, edit: (current: GuildSettings) => GuildSettings): Promise<GuildSettings>;
}
