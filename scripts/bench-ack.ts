// `npm run bench:ack`: how fast the bot acknowledges interactions under a burst. The real bot
// (startBot: discord.js, engine, SQLite store) runs in this process against the test suite's fake
// Discord and fake WaveSpeed on 127.0.0.1. 200 members send /animate at the same moment, then 200
// buttons are pressed at once (Cancel on each of their status messages). Latency is from the
// moment the fake dispatched the interaction to the moment it received the bot's first callback,
// both Date.now() in this process. Goal: p99 ≤ 100 ms. Prints figures, then one JSON line.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { startBot } from '../src/main.js';
import { startFakeDiscord, type FakeInteraction } from '../test/fakes/discord/index.js';
import { startFakeWaveSpeed } from '../test/fakes/wavespeed.js';
import { percentile } from './bench/world.js';

const N = Number(process.env.N ?? 200);
const GOAL_P99_MS = 100;
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);
const KEY = 'bench-wavespeed-key';

const discord = await startFakeDiscord();
const wavespeed = await startFakeWaveSpeed({ apiKey: KEY, runMs: 600_000 });
wavespeed.hold(); // jobs stay running: the buttons have something to cancel
const dir = mkdtempSync(join(tmpdir(), 'animate-bench-ack-'));
const bot = await startBot(
  loadConfig({
    DISCORD_TOKEN: discord.botToken,
    DISCORD_CLIENT_ID: discord.applicationId,
    DISCORD_API_URL: discord.apiBase,
    DISCORD_CDN_HOSTS: discord.cdnHost,
    WAVESPEED_API_KEY: KEY,
    WAVESPEED_BASE_URL: wavespeed.baseUrl,
    STORE_URL: `sqlite://${join(dir, 'store.sqlite')}`,
    LOG_LEVEL: 'warn',
    MAX_ACTIVE_JOBS_PER_MEMBER: '1',
  }),
  { logDestination: { write: () => undefined } },
);

const ackMs = (i: FakeInteraction): number => {
  const first = i.callbacks[0];
  if (!first) throw new Error(`interaction ${i.commandName} was never acknowledged`);
  return first.at - i.receivedAt;
};
const summary = (xs: number[]) => ({
  p50: Math.round(percentile(xs, 50) * 10) / 10,
  p99: Math.round(percentile(xs, 99) * 10) / 10,
  max: Math.max(...xs),
});

try {
  const members = Array.from({ length: N }, (_, i) => discord.addUser({ username: `m${i}` }));
  // Warm up: the first interaction pays for loading code paths once.
  await (
    await discord.sendCommand({ name: 'credits', user: members[0] as (typeof members)[0] })
  ).waitForReply();

  const commands = await Promise.all(
    members.map((user) => {
      const attachment = discord.addAttachment({ filename: 'cat.png', bytes: PNG, contentType: 'image/png' });
      return discord.sendCommand({
        name: 'animate',
        user,
        attachments: [attachment],
        options: [
          { name: 'image', type: 11, value: attachment.id },
          { name: 'prompt', type: 3, value: 'the cat slowly blinks' },
        ],
      });
    }),
  );
  await Promise.all(commands.map((i) => i.waitForReply(60_000)));
  const commandAck = commands.map(ackMs);

  // Every member's status message, with its Cancel button.
  await discord.waitFor(() => discord.messagesIn(discord.channelId).length >= N, 60_000);
  const statuses = discord.messagesIn(discord.channelId);
  const presses = await Promise.all(
    statuses.map((message, i) => {
      const row = message.components[0] as { components?: { custom_id?: string }[] } | undefined;
      const customId = row?.components?.[0]?.custom_id;
      if (!customId) throw new Error(`status ${message.id} has no Cancel button`);
      return discord.pressButton({
        user: members[i] as (typeof members)[0],
        customId,
        messageId: message.id,
        channelId: message.channel_id,
      });
    }),
  );
  await Promise.all(presses.map((i) => i.waitForReply(60_000)));
  const buttonAck = presses.map(ackMs);

  const result = {
    bench: 'ack',
    interactions: N,
    commandAckMs: summary(commandAck),
    buttonAckMs: summary(buttonAck),
    goalP99Ms: GOAL_P99_MS,
    met: percentile(commandAck, 99) <= GOAL_P99_MS && percentile(buttonAck, 99) <= GOAL_P99_MS,
  };
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`${N} simultaneous /animate: ack p50 ${result.commandAckMs.p50} ms, p99 ${result.commandAckMs.p99} ms`);
  out(
    `${N} simultaneous Cancel presses: ack p50 ${result.buttonAckMs.p50} ms, p99 ${result.buttonAckMs.p99} ms`,
  );
  out(`goal p99 ≤ ${GOAL_P99_MS} ms: ${result.met ? 'met' : 'NOT met'}`);
  out(JSON.stringify(result));
} finally {
  await bot.stop();
  await Promise.all([discord.close(), wavespeed.close()]);
  rmSync(dir, { recursive: true, force: true });
}
