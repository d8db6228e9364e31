// The status card over a whole job of about a minute, as a member watches it: an embed with the
// prompt, the model, the price and the phase; edited on phase changes but never twice within 5 s;
// Discord's own countdown for the finish, so no edits for the clock; and the last state shown,
// with its Cancel button gone.
import { afterEach, expect, it } from 'vitest';
import type { StoredMessage } from '../fakes/discord/index.js';
import { visibleText } from '../fakes/discord/visible.js';
import { resultMessage, startWorld, type World } from './harness.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

it('a 60 s job: the card is edited at most once per 5 s, counts down by itself, and ends Done without buttons', async () => {
  // The bot expects a quick job, so it polls often and sees each phase change early: the
  // queue ends 2.5 s after the submit, sooner than the 5 s an edit must wait.
  world = await startWorld(
    { EXPECTED_RUN_MS: 'wavespeed/ray-2-flash=3000,wavespeed/ray-2=3000,fal/ray-2-flash=3000' },
    { wavespeed: { queuedMs: 2500, runMs: 57_500 } },
  );
  const w = world;
  await (await w.animate({ prompt: 'the cat **slowly** blinks' })).waitForReply();
  await resultMessage(w).catch(() => undefined);
  await w.discord.waitFor(() => visibleText(status(w)).includes('Done'), 90_000);

  const card = status(w) as StoredMessage;
  const embed = card.embeds[0] as { title?: string; description?: string; fields?: { name: string }[] };
  expect(embed.title).toContain('Done');
  expect(embed.description).toContain('the cat \\*\\*slowly\\*\\* blinks');
  expect(embed.fields?.map((f) => f.name)).toEqual(
    expect.arrayContaining(['Model', 'Size', 'Duration', 'Price', 'Balance after']),
  );
  expect(visibleText(card)).toContain('Balance after: 80 credits');
  expect(card.components).toEqual([]);

  const edits = w.discord.requests.filter(
    (r) => r.method === 'PATCH' && r.path.endsWith(`/messages/${card.id}`),
  );
  // Queued, rendering, fetching, done: a handful of edits, not one per poll.
  expect(edits.length).toBeGreaterThanOrEqual(2);
  expect(edits.length).toBeLessThanOrEqual(60 / 5 + 1);
  const gaps = edits.slice(1).map((e, i) => e.at - (edits[i]?.at ?? 0));
  // Measured where the fake received them; a few ms of loopback jitter either way.
  for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(5000 - 50);
  // While it ran, the card showed Discord's relative timestamp for the finish.
  const bodies = edits.map((e) => JSON.stringify(e.json ?? {}));
  expect(bodies.some((b) => /<t:\d+:R>/.test(b))).toBe(true);
}, 120_000);

function status(w: World): StoredMessage | undefined {
  return w.discord.messagesIn(w.discord.channelId)[0];
}
