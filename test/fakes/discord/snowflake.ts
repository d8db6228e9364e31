// Snowflake ids shaped like Discord's: discord.js calls BigInt(id) for timestamps and channel sorting,
// so ids must be real numeric snowflakes, not arbitrary strings.

const DISCORD_EPOCH = 1420070400000n;

export type SnowflakeFactory = () => string;

/** One factory per fake: the low bits count up so ids made in the same millisecond stay unique and ordered. */
export function createSnowflakes(): SnowflakeFactory {
  let counter = 0n;
  let last = 0n;
  return () => {
    let time = BigInt(Date.now()) - DISCORD_EPOCH;
    // Keep ids strictly increasing even if the clock repeats or the counter would wrap.
    if (time < last) time = last;
    if (time === last && counter >= 4095n) {
      time += 1n;
      counter = 0n;
    }
    if (time !== last) counter = 0n;
    last = time;
    const id = (time << 22n) | counter;
    counter += 1n;
    return id.toString();
  };
}

/** Compares two snowflakes numerically (negative when a is older). */
export function compareSnowflakes(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
