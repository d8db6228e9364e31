// A server's job limit and disabled models end to end: /animate-admin limit and models on the
// real bot (real engine and admission, fake providers), checked by what members are told and
// what the provider saw.
import { visibleText } from '../fakes/discord/visible.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeWaveSpeed } from '../fakes/wavespeed.js';
import {
  addAdmin,
  adminCommand,
  NOON,
  registerCommands,
  statement,
  statusesAbout,
  testClock,
  waitForResults,
} from './admin.js';
import { closeChecked, creditsOf, startWorld, type World } from './harness.js';

let world: World | undefined;
afterEach(async () => {
  await closeChecked(world);
  world = undefined;
});

async function adminWorld(env: Record<string, string> = {}) {
  world = await startWorld(env, { clock: testClock(NOON) });
  const w = world;
  await registerCommands(w);
  return { w, admin: addAdmin(w) };
}

/** When the provider took each task and when the bot first saw it finished, by prompt. */
function runs(ws: FakeWaveSpeed): Map<string, { from: number; to: number }> {
  const out = new Map<string, { from: number; to: number }>();
  for (const s of ws.submissions) {
    const prompt = (s.body as { prompt?: string }).prompt ?? '';
    const done = ws.polls.find((p) => p.id === s.taskId && p.status === 'completed');
    out.set(prompt, { from: s.at, to: done?.at ?? Infinity });
  }
  return out;
}

describe('/animate-admin limit', () => {
  it('jobs:1 makes a member’s second /animate wait for the first; another member is not held back', async () => {
    // The bot's own default lets a member run 2 at once; the server's limit overrides it.
    const { w, admin } = await adminWorld({ MAX_ACTIVE_JOBS_PER_MEMBER: '2' });
    const other = w.discord.addUser({ username: 'other' });
    const set = await adminCommand(w, admin, 'limit', { jobs: 1 });
    expect(set.content).toBe('A member may now run **1** job at once in this server; more wait their turn.');

    w.wavespeed.hold();
    const first = await (await w.animate({ prompt: 'first' })).waitForReply();
    const second = await (await w.animate({ prompt: 'second' })).waitForReply();
    const bystander = await (await w.animate({ user: other, prompt: 'bystander' })).waitForReply();
    expect(first.content).toContain('Accepted');
    expect(first.content).not.toContain('start when');
    expect(second.content).toContain('Accepted');
    expect(second.content).toContain('It will start when your other jobs finish.');
    expect(bystander.content).not.toContain('start when');

    // While the first is held at the provider, the second waits in line and is not submitted.
    await w.discord.waitFor(
      () => statusesAbout(w, 'second').find((m) => visibleText(m).includes('Waiting in line · place 1')),
      10_000,
    );
    await w.discord.waitFor(() => w.wavespeed.submissions.length === 2, 10_000);
    expect([...runs(w.wavespeed).keys()].sort()).toEqual(['bystander', 'first']);

    w.wavespeed.release();
    await waitForResults(w, w.member, 2);
    await waitForResults(w, other, 1);
    const seen = runs(w.wavespeed);
    const [a, b, c] = [seen.get('first'), seen.get('second'), seen.get('bystander')];
    if (!a || !b || !c) throw new Error(`missing runs: ${[...seen.keys()].join(', ')}`);
    // The member's two never ran at once at the provider: the second was taken after the first
    // was done. The other member's ran beside the first.
    expect(b.from).toBeGreaterThanOrEqual(a.to);
    expect(c.from).toBeLessThan(a.to);
    expect(await creditsOf(w)).toBe(60);
  });

  // Fails today: each waiting job keeps the limit it was admitted under (Admission's Slot.limit),
  // so after the limit is raised the member's NEW request finds room and starts at once while
  // their older one, waiting under the old limit of 1, stays in line until both others finish.
  it('a raised limit does not let a member’s newer request overtake their waiting one', async () => {
    const { w, admin } = await adminWorld();
    await adminCommand(w, admin, 'limit', { jobs: 1 });
    w.wavespeed.hold();
    await (await w.animate({ prompt: 'first' })).waitForReply();
    expect((await (await w.animate({ prompt: 'second' })).waitForReply()).content).toContain(
      'It will start when your other jobs finish.',
    );
    await w.discord.waitFor(
      () => statusesAbout(w, 'second').find((m) => visibleText(m).includes('Waiting in line · place 1')),
      10_000,
    );
    await w.discord.waitFor(() => w.wavespeed.submissions.length === 1, 10_000);

    // Room for one more now: it is the waiting job's, not the newcomer's.
    await adminCommand(w, admin, 'limit', { jobs: 2 });
    await (await w.animate({ prompt: 'third' })).waitForReply();
    await w.discord.waitFor(() => w.wavespeed.submissions.length === 2, 10_000);
    expect([...runs(w.wavespeed).keys()]).toEqual(['first', 'second']);

    w.wavespeed.release();
    await waitForResults(w, w.member, 3);
  });
});

describe('/animate-admin models', () => {
  it('a disabled model is refused like an unavailable one, for /animate and 🔁, and nothing is charged', async () => {
    // fal is not configured here: fal/ray-2-flash is what an unavailable model looks like.
    const { w, admin } = await adminWorld({ FAL_KEY: '' });
    const unavailable = await (
      await w.animate({ options: [{ name: 'model', type: 3, value: 'fal/ray-2-flash' }] })
    ).waitForReply();
    expect(unavailable.ephemeral).toBe(true);
    expect(unavailable.content).toBe(
      'fal/ray-2-flash is not available on this bot right now. Nothing was charged.',
    );

    // A result from before the change, to rerun after it.
    await (await w.animate({ prompt: 'before the change' })).waitForReply();
    const [result] = await waitForResults(w, w.member, 1);
    expect(await creditsOf(w)).toBe(80);

    const set = await adminCommand(w, admin, 'models', { action: 'disable', model: 'wavespeed/ray-2-flash' });
    expect(set.content).toContain('`wavespeed/ray-2-flash` off');
    expect(set.content).toContain('`wavespeed/ray-2` on');

    for (const options of [[{ name: 'model', type: 3, value: 'wavespeed/ray-2-flash' }], []]) {
      const reply = await (await w.animate({ prompt: 'after the change', options })).waitForReply();
      expect(reply.ephemeral).toBe(true);
      expect(reply.content).toBe(
        'wavespeed/ray-2-flash is not available in this server. Nothing was charged.',
      );
    }
    if (!result) throw new Error('no result');
    w.discord.react({ user: w.member, channelId: result.channel_id, messageId: result.id, emoji: '🔁' });
    const dm = w.discord.dmChannelFor(w.member.id);
    const note = await w.discord.waitFor(() => w.discord.messagesIn(dm.id)[0], 10_000);
    expect(note.content).toBe(
      'wavespeed/ray-2-flash is not available in this server, so the rerun was not started. Nothing was charged.',
    );

    expect(w.wavespeed.submissions).toHaveLength(1);
    expect(w.wavespeed.uploads).toHaveLength(1);
    expect(statusesAbout(w, 'after the change')).toEqual([]);
    const text = await statement(w);
    expect(text).toContain('You have **80** credits in this server.');
    expect(text.match(/reserved/g)).toHaveLength(1);

    // Only that model is off.
    const other = await (
      await w.animate({ options: [{ name: 'model', type: 3, value: 'wavespeed/ray-2' }] })
    ).waitForReply();
    expect(other.content).toContain('40 credits reserved, 40 left');
    await waitForResults(w, w.member, 2);
    expect(w.wavespeed.submissions.map((s) => s.endpoint)).toEqual([
      'luma/ray-2-flash-i2v',
      'luma/ray-2-i2v',
    ]);
  });
});
