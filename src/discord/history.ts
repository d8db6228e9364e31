// Finding our own earlier posts again after a restart, from a known anchor forward: Discord's
// `after=` pages, bounded, instead of the newest messages of a busy channel. See docs/discord.md.
import { SnowflakeUtil, type Message, type TextBasedChannel } from 'discord.js';

const PAGE = 100;
/** At most this many pages (1,000 messages) after the anchor. */
const MAX_PAGES = 10;
const DISCORD_EPOCH_MS = 1_420_070_400_000;

/** A snowflake for a moment, as an `after=` anchor (0 for times before Discord's epoch). */
export function snowflakeAt(ms: number): string {
  return ms <= DISCORD_EPOCH_MS ? '0' : SnowflakeUtil.generate({ timestamp: ms }).toString();
}

/** The first message after `after` that `match` accepts, oldest first, or undefined. */
export async function findAfter(
  channel: TextBasedChannel,
  after: string,
  match: (m: Message) => boolean,
): Promise<Message | undefined> {
  let anchor = after;
  for (let page = 0; page < MAX_PAGES; page++) {
    const batch = await channel.messages.fetch({ after: anchor, limit: PAGE, cache: false });
    // Discord sends the page newest first; read it oldest first.
    const ascending = [...batch.values()].sort((a, b) => compare(a.id, b.id));
    const hit = ascending.find(match);
    if (hit) return hit;
    const newest = ascending.at(-1);
    if (!newest || batch.size < PAGE) return undefined;
    anchor = newest.id;
  }
  return undefined;
}

function compare(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
