// The far side of `npm run bench:ack`, run in a worker thread: the fake Discord and the fake
// WaveSpeed, and the members who press. Real Discord runs on other machines; here it gets its own
// thread (the machine has two cores), so the figures are the bot's work, not the fake's. The
// worker sends the bot its settings, waits for "ready", runs the two bursts and sends back each
// interaction's ack latency, measured inside the fake (dispatch to first callback, one clock).
import { parentPort } from 'node:worker_threads';
import { startFakeDiscord, type FakeInteraction, type FakeUser } from '../../test/fakes/discord/index.js';
import { startFakeWaveSpeed } from '../../test/fakes/wavespeed.js';

export interface FakesReady {
  kind: 'settings';
  env: Record<string, string>;
}
export interface Round {
  commandAckMs: number[];
  buttonAckMs: number[];
}
export interface BurstResult {
  kind: 'result';
  /** The first round after start, not counted: its code paths run for the first time. */
  warmUp: Round;
  /** One entry per measured round: every interaction's ack latency. */
  rounds: Round[];
  /** Connections the bot opened to the fake Discord (REST and CDN) in each measured round. */
  connectionsPerRound: number[];
}

const port = parentPort;
if (!port) throw new Error('ack-fakes.ts runs as a worker thread of scripts/bench-ack.ts');
const { n, key, rounds } = await new Promise<{ n: number; key: string; rounds: number }>((resolve) =>
  port.once('message', resolve),
);

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);
const discord = await startFakeDiscord();
const wavespeed = await startFakeWaveSpeed({ apiKey: key, runMs: 600_000 });
wavespeed.hold(); // jobs stay running: the buttons have something to cancel

port.postMessage({
  kind: 'settings',
  env: {
    DISCORD_TOKEN: discord.botToken,
    DISCORD_CLIENT_ID: discord.applicationId,
    DISCORD_API_URL: discord.apiBase,
    DISCORD_CDN_HOSTS: discord.cdnHost,
    WAVESPEED_BASE_URL: wavespeed.baseUrl,
  },
} satisfies FakesReady);
await new Promise((resolve) => port.once('message', resolve)); // the bot is ready

const ackMs = (i: FakeInteraction): number => {
  const first = i.callbacks[0];
  if (!first) throw new Error(`interaction ${i.commandName} was never acknowledged`);
  return first.at - i.receivedAt;
};

const members: FakeUser[] = Array.from({ length: n }, (_, i) => discord.addUser({ username: `m${i}` }));
/** One round: every member sends /animate at once, then each presses Cancel on theirs. */
async function round(): Promise<Round> {
  const before = discord.messagesIn(discord.channelId).length;
  const attachments = members.map(() =>
    discord.addAttachment({ filename: 'cat.png', bytes: PNG, contentType: 'image/png' }),
  );
  const commands = await Promise.all(
    members.map((user, i) =>
      discord.sendCommand({
        name: 'animate',
        user,
        attachments: [attachments[i]!],
        options: [
          { name: 'image', type: 11, value: attachments[i]!.id },
          { name: 'prompt', type: 3, value: 'the cat slowly blinks' },
        ],
      }),
    ),
  );
  await Promise.all(commands.map((i) => i.waitForReply(60_000)));

  // Every member's new status message, with its Cancel button, pressed by its requester (named
  // first in the message; the messages come in whatever order the jobs reached the channel).
  await discord.waitFor(() => discord.messagesIn(discord.channelId).length >= before + n, 60_000);
  const byId = new Map(members.map((user) => [user.id, user]));
  const statuses = discord.messagesIn(discord.channelId).slice(before);
  const presses = await Promise.all(
    statuses.map((message) => {
      const requester = byId.get(/<@(\d+)>/.exec(message.content)?.[1] ?? '');
      const row = message.components[0] as { components?: { custom_id?: string }[] } | undefined;
      const customId = row?.components?.[0]?.custom_id;
      if (!requester) throw new Error(`status ${message.id} names none of this round's members`);
      if (!customId) throw new Error(`status ${message.id} has no Cancel button`);
      return discord.pressButton({
        user: requester,
        customId,
        messageId: message.id,
        channelId: message.channel_id,
      });
    }),
  );
  for (const reply of await Promise.all(presses.map((i) => i.waitForReply(60_000)))) {
    if (!reply.content.startsWith('Cancelled.'))
      throw new Error(`a Cancel press was answered: ${reply.content}`);
  }
  // The cancelled jobs end (refunded, their cards final and without buttons) before the next
  // round, so each member may start another.
  await discord.waitFor(() => statuses.every((m) => m.components.length === 0), 60_000);
  return { commandAckMs: commands.map(ackMs), buttonAckMs: presses.map(ackMs) };
}

// Warm-up, not counted: the first round runs each code path for the first time (V8 compiles the
// hot ones as it goes), as a bot that has been running did long before this burst. Then the fake
// drops every idle connection, so the first measured round opens one per callback again, as
// after a quiet minute (the bot closes connections idle for 60 s); the later ones find them open.
const warmUp = await round();
discord.dropIdleConnections();
await new Promise((resolve) => setTimeout(resolve, 200));
const results: Round[] = [];
const connectionsPerRound: number[] = [];
for (let r = 0; r < rounds; r++) {
  const before = discord.connectionsAccepted;
  results.push(await round());
  connectionsPerRound.push(discord.connectionsAccepted - before);
}
port.postMessage({ kind: 'result', warmUp, rounds: results, connectionsPerRound } satisfies BurstResult);
await new Promise((resolve) => port.once('message', resolve)); // the bot has stopped
await Promise.all([discord.close(), wavespeed.close()]);
port.close();
