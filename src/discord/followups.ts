// The interaction of each accepted /animate, kept in memory only (never in the store, never in a
// log) while its token lives, so a result or notice with nowhere else to go can still reach the
// member as a follow-up message. See docs/discord.md.
import type { InteractionReplyOptions, Message } from 'discord.js';

/** Discord accepts follow-ups for 15 minutes after the interaction; stop a minute early. */
const TOKEN_LIFETIME_MS = 15 * 60_000;
const MARGIN_MS = 60_000;

/** The part of an acknowledged interaction a follow-up needs. */
export interface FollowUpTarget {
  readonly createdTimestamp: number;
  followUp(options: InteractionReplyOptions): Promise<Message>;
}

export interface FollowUps {
  remember(jobId: string, interaction: FollowUpTarget): void;
  /** The job's interaction while its token is still good. */
  get(jobId: string): FollowUpTarget | undefined;
}

export function createFollowUps(now: () => number = Date.now): FollowUps {
  const byJob = new Map<string, FollowUpTarget>();
  const alive = (i: FollowUpTarget) => now() < i.createdTimestamp + TOKEN_LIFETIME_MS - MARGIN_MS;
  return {
    remember(jobId, interaction) {
      for (const [id, i] of byJob) if (!alive(i)) byJob.delete(id);
      byJob.set(jobId, interaction);
    },
    get(jobId) {
      const i = byJob.get(jobId);
      if (i && alive(i)) return i;
      byJob.delete(jobId);
      return undefined;
    },
  };
}
