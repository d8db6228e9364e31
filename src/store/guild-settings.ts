// A server's own rules, set with /animate-admin: its allowance and spend cap, where and by whom
// /animate may be used, which models are off, who is blocked, the per-member job limit and the
// prompt blocklist. One record per server; an absent record means "no rules".
import { z } from 'zod';
import { MODEL_IDS, type ModelId } from '../providers/catalog.js';
import type { Allowance } from './economy.js';
import type { Store } from './keyv.js';
import { KeyedLock } from './lock.js';

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

const settingsSchema = z.object({
  allowance: z
    .object({ amount: z.number().int().min(0), period: z.enum(['day', 'week', 'month']) })
    .optional(),
  cap: z.object({ amount: z.number().int().min(0), period: z.enum(['day', 'month']) }).optional(),
  channels: z.array(z.string()).default([]),
  roles: z.array(z.string()).default([]),
  disabledModels: z.array(z.enum(MODEL_IDS)).default([]),
  blocked: z
    .record(z.string(), z.object({ reason: z.string().optional(), by: z.string(), at: z.number() }))
    .default({}),
  jobLimit: z.number().int().min(1).optional(),
  blocklist: z.array(z.string()).default([]),
});

/** Drops what means "no rule" (an allowance or cap of 0), so a record never holds a dead rule. */
function tidy(settings: GuildSettings): GuildSettings {
  const { allowance, cap, ...rest } = settings;
  return {
    ...rest,
    ...(allowance && allowance.amount > 0 ? { allowance } : {}),
    ...(cap && cap.amount > 0 ? { cap } : {}),
  };
}

export function createGuildSettingsStore(keyv: Store): GuildSettingsStore {
  const lock = new KeyedLock();
  const key = (guildId: string) => `guild:${guildId}`;

  async function get(guildId: string): Promise<GuildSettings> {
    const raw = await keyv.get(key(guildId));
    if (raw === undefined) return NO_SETTINGS;
    // A record that does not parse is a bug or a hand edit: fail loudly rather than drop the rules.
    return settingsSchema.parse(raw) as GuildSettings;
  }

  return {
    get,
    update: (guildId, edit) =>
      lock.run(key(guildId), async () => {
        const next = tidy(edit(structuredClone(await get(guildId))));
        settingsSchema.parse(next);
        await keyv.set(key(guildId), next);
        return next;
      }),
  };
}
