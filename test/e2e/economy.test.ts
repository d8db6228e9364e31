// A server's credit rules end to end: /animate-admin cap, allowance and credits on the real bot
// (real engine, real economy on SQLite, fake providers), seen the way members see them: the
// replies to /animate, the results in the threads, /credits, and what reached the provider.
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/keyv.js';
import {
  addAdmin,
  adminCommand,
  allowanceTopUps,
  balanceIn,
  inThreads,
  MIDNIGHT,
  NOON,
  registerCommands,
  relative,
  resultsFor,
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

async function adminWorld(env: Record<string, string> = {}, clock = testClock(NOON)) {
  world = await startWorld(env, { clock });
  const w = world;
  await registerCommands(w);
  return { w, admin: addAdmin(w), clock };
}

describe('/animate-admin cap', () => {
  it('accepts what fits, refuses the first request past it until UTC midnight, and a refund makes room', async () => {
    const { w, admin } = await adminWorld();
    const other = w.discord.addUser({ username: 'other' });
    const set = await adminCommand(w, admin, 'cap', { amount: 40, period: 'day' });
    expect(set.ephemeral).toBe(true);
    expect(set.content).toContain(
      `at most **40** credits per day (UTC); 0 used so far, resets ${relative(MIDNIGHT)}`,
    );

    // 20 of 40: delivered.
    const first = await (await w.animate({ prompt: 'first of the day' })).waitForReply();
    expect(first.content).toContain('20 credits reserved, 80 left');
    await waitForResults(w, w.member, 1);

    // Another member's 20 makes 40 of 40 (the cap itself still fits). The provider holds the
    // task, and fails it once let go.
    w.wavespeed.hold();
    w.wavespeed.nextOutcome({ status: 'failed', code: 1402, error: 'boom' });
    const second = await (await w.animate({ user: other, prompt: 'second of the day' })).waitForReply();
    expect(second.content).toContain('20 credits reserved, 80 left');
    await w.discord.waitFor(() => w.wavespeed.submissions.length === 2, 10_000);

    // The next 20 would make 60: refused, privately, saying when the cap resets.
    const refused = await (await w.animate({ prompt: 'one too many' })).waitForReply();
    expect(refused.ephemeral).toBe(true);
    expect(refused.content).toBe(
      `This server has used its credits for now; the limit resets ${relative(MIDNIGHT)}. Nothing was charged.`,
    );
    expect(w.wavespeed.submissions).toHaveLength(2);
    expect(w.wavespeed.uploads).toHaveLength(2);
    expect(statusesAbout(w, 'one too many')).toEqual([]);
    expect(await creditsOf(w)).toBe(80);
    const shown = await adminCommand(w, admin, 'settings');
    expect(shown.content).toContain('Spend cap: **40** credits per day (UTC); 40 used');

    // The held job fails: refunded to its member and given back to the cap.
    w.wavespeed.release();
    const notice = await w.discord.waitFor(
      () => inThreads(w).find((m) => m.content.includes('refunded') && m.content.includes(`<@${other.id}>`)),
      10_000,
    );
    expect(notice.content).toContain('20 credits were refunded');
    expect(await creditsOf(w, other)).toBe(100);
    expect((await adminCommand(w, admin, 'settings')).content).toContain(
      '**40** credits per day (UTC); 20 used',
    );

    const again = await (await w.animate({ prompt: 'room again' })).waitForReply();
    expect(again.content).toContain('20 credits reserved, 60 left');
    await waitForResults(w, w.member, 2);
    expect(w.wavespeed.submissions).toHaveLength(3);
    expect(await creditsOf(w)).toBe(60);
  });

  it('is never passed by requests from several members at the same moment', async () => {
    const { w, admin } = await adminWorld();
    await adminCommand(w, admin, 'cap', { amount: 40, period: 'day' });
    const members = [w.member, w.discord.addUser({ username: 'b' }), w.discord.addUser({ username: 'c' })];
    const interactions = await Promise.all(
      members.flatMap((user) => [w.animate({ user }), w.animate({ user })]),
    );
    const replies = await Promise.all(interactions.map((i) => i.waitForReply(10_000)));
    const accepted = replies.filter((r) => r.content.includes('20 credits reserved'));
    const refused = replies.filter((r) => r.content.startsWith('This server has used its credits for now'));
    expect(accepted).toHaveLength(2);
    expect(refused).toHaveLength(4);
    await w.discord.waitFor(
      () => w.logs.filter((l) => (JSON.parse(l) as { msg?: string }).msg === 'job delivered').length === 2,
      10_000,
    );
    expect(w.wavespeed.submissions).toHaveLength(2);
    expect((await adminCommand(w, admin, 'settings')).content).toContain(
      '**40** credits per day (UTC); 40 used',
    );
    const balances = await Promise.all(members.map((user) => creditsOf(w, user)));
    expect(balances.reduce((a, b) => a + b, 0)).toBe(300 - 40);
  });

  it('refuses a 🔁 rerun past the cap privately, and lets requests through again after UTC midnight', async () => {
    const { w, admin, clock } = await adminWorld();
    await adminCommand(w, admin, 'cap', { amount: 20, period: 'day' });
    await (await w.animate()).waitForReply();
    const [result] = await waitForResults(w, w.member, 1);
    if (!result) throw new Error('no result');

    w.discord.react({ user: w.member, channelId: result.channel_id, messageId: result.id, emoji: '🔁' });
    const dm = w.discord.dmChannelFor(w.member.id);
    const note = await w.discord.waitFor(() => w.discord.messagesIn(dm.id)[0], 10_000);
    expect(note.content).toBe(
      `This server has used its credits for now, so the rerun was not started; the limit resets ${relative(MIDNIGHT)}. Nothing was charged.`,
    );
    expect(w.wavespeed.submissions).toHaveLength(1);
    expect(await creditsOf(w)).toBe(80);

    clock.set(MIDNIGHT + 1000);
    const reply = await (await w.animate({ prompt: 'a new day' })).waitForReply();
    expect(reply.content).toContain('20 credits reserved, 60 left');
    await waitForResults(w, w.member, 2);
    expect(w.wavespeed.submissions).toHaveLength(2);
  });
});

describe('/animate-admin allowance', () => {
  it('tops a member who spent below it up on their next /animate, once a UTC day, and again after midnight', async () => {
    const { w, admin, clock } = await adminWorld({ STARTING_CREDITS: '60' });
    // Spent down to 40 before the server had an allowance.
    expect((await (await w.animate({ prompt: 'before' })).waitForReply()).content).toContain('40 left');
    await waitForResults(w, w.member, 1);

    const set = await adminCommand(w, admin, 'allowance', { amount: 50, period: 'day' });
    expect(set.content).toContain('topped up to 50');

    // The next /animate tops 40 up to 50, then holds 20.
    const topped = await (await w.animate({ prompt: 'topped up' })).waitForReply();
    expect(topped.content).toContain('20 credits reserved, 30 left');
    await waitForResults(w, w.member, 2);
    const afterTopUp = await statement(w);
    expect(balanceIn(afterTopUp)).toBe(30);
    expect(afterTopUp).toContain(`Allowance: topped up to **50** once a day; next ${relative(MIDNIGHT)}.`);
    expect(allowanceTopUps(afterTopUp)).toEqual([10]);

    // Same UTC day: no second top-up.
    const same = await (await w.animate({ prompt: 'same day' })).waitForReply();
    expect(same.content).toContain('20 credits reserved, 10 left');
    await waitForResults(w, w.member, 3);
    const sameDay = await statement(w);
    expect(balanceIn(sameDay)).toBe(10);
    expect(allowanceTopUps(sameDay)).toEqual([10]);

    // Past midnight: 10 is topped up to 50 once more.
    clock.set(MIDNIGHT + 1000);
    const nextDay = await (await w.animate({ prompt: 'next day' })).waitForReply();
    expect(nextDay.content).toContain('20 credits reserved, 30 left');
    await waitForResults(w, w.member, 4);
    const tomorrow = await statement(w);
    expect(balanceIn(tomorrow)).toBe(30);
    expect(allowanceTopUps(tomorrow)).toEqual([40, 10]);
    expect(tomorrow).toContain(`next ${relative(MIDNIGHT + 86_400_000)}.`);
  });

  it('tops the member up on a 🔁 rerun too', async () => {
    const { w, admin, clock } = await adminWorld({ STARTING_CREDITS: '60' });
    await adminCommand(w, admin, 'allowance', { amount: 50, period: 'day' });
    // 60 is above the allowance: nothing added today, 40 left after the job.
    expect((await (await w.animate()).waitForReply()).content).toContain('40 left');
    const [result] = await waitForResults(w, w.member, 1);
    expect(allowanceTopUps(await statement(w))).toEqual([]);

    // Tomorrow, the rerun is the member's first action: it tops 40 up to 50, then holds 20.
    clock.set(MIDNIGHT + 1000);
    if (!result) throw new Error('no result');
    w.discord.react({ user: w.member, channelId: result.channel_id, messageId: result.id, emoji: '🔁' });
    await waitForResults(w, w.member, 2);
    expect(w.wavespeed.submissions).toHaveLength(2);
    const text = await statement(w);
    expect(balanceIn(text)).toBe(30);
    expect(allowanceTopUps(text)).toEqual([10]);
  });
});

describe('refusals for credits', () => {
  it('with an allowance, says the balance, the price and when the allowance next tops up', async () => {
    const { w, admin } = await adminWorld({ STARTING_CREDITS: '10' });
    await adminCommand(w, admin, 'allowance', { amount: 15, period: 'day' });
    const reply = await (await w.animate()).waitForReply();
    expect(reply.ephemeral).toBe(true);
    // Topped up from 10 to 15 first, and still short.
    expect(reply.content).toBe(
      `This video costs 20 credits and you have 15. Your allowance tops you up again ${relative(MIDNIGHT)}. Nothing was charged.`,
    );
    expect(w.wavespeed.submissions).toHaveLength(0);
    expect(w.wavespeed.uploads).toHaveLength(0);
    expect(await creditsOf(w)).toBe(15);
  });

  it('tells a reactor short of credits with an allowance when it next tops up', async () => {
    const { w, admin } = await adminWorld({ STARTING_CREDITS: '30' });
    await adminCommand(w, admin, 'allowance', { amount: 15, period: 'day' });
    // 30 is above the allowance (nothing added today); 10 left after the job.
    await (await w.animate()).waitForReply();
    const [result] = await waitForResults(w, w.member, 1);
    if (!result) throw new Error('no result');
    w.discord.react({ user: w.member, channelId: result.channel_id, messageId: result.id, emoji: '🔁' });
    const dm = w.discord.dmChannelFor(w.member.id);
    const note = await w.discord.waitFor(() => w.discord.messagesIn(dm.id)[0], 10_000);
    expect(note.content).toBe(
      `A rerun costs 20 credits and you have 10, so nothing was started or charged. Your allowance tops you up again ${relative(MIDNIGHT)}.`,
    );
    expect(w.wavespeed.submissions).toHaveLength(1);
    expect(await creditsOf(w)).toBe(10);
  });

  it('without an allowance, says an admin can grant more', async () => {
    const { w } = await adminWorld({ STARTING_CREDITS: '10' });
    const reply = await (await w.animate()).waitForReply();
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toBe(
      'This video costs 20 credits and you have 10. A server admin can grant you more. Nothing was charged.',
    );
    expect(w.wavespeed.submissions).toHaveLength(0);
    expect(await creditsOf(w)).toBe(10);
  });
});

describe('/animate-admin credits', () => {
  it('grant lets a member who had too little animate', async () => {
    const { w, admin } = await adminWorld({ STARTING_CREDITS: '10' });
    expect((await (await w.animate()).waitForReply()).content).toContain('you have 10');

    const granted = await adminCommand(w, admin, 'credits grant', {
      member: w.member.id,
      amount: 30,
      reason: 'contest winner',
    });
    expect(granted.content).toBe(`Granted **30** credits to <@${w.member.id}>. They now have **40**.`);

    const reply = await (await w.animate()).waitForReply();
    expect(reply.content).toContain('20 credits reserved, 20 left');
    await waitForResults(w, w.member, 1);
    expect(w.wavespeed.submissions).toHaveLength(1);
    const text = await statement(w);
    expect(balanceIn(text)).toBe(20);
    expect(text).toContain('granted by an admin · contest winner');
  });

  it('take past the free balance takes only the free part; the running job keeps its hold, delivers and is charged once', async () => {
    const { w, admin } = await adminWorld({ STARTING_CREDITS: '50' });
    w.wavespeed.hold();
    expect((await (await w.animate({ prompt: 'held job' })).waitForReply()).content).toContain(
      '20 credits reserved, 30 left',
    );
    await w.discord.waitFor(() => w.wavespeed.submissions.length === 1, 10_000);

    const took = await adminCommand(w, admin, 'credits take', { member: w.member.id, amount: 100 });
    expect(took.content).toContain('Took **30** of the 100 credits asked');
    expect(took.content).toContain('They now have **0**');
    expect(await statement(w)).toContain(
      'You have **0** credits in this server (and **20** held for jobs in progress).',
    );

    w.wavespeed.release();
    await waitForResults(w, w.member, 1);
    const text = await statement(w);
    expect(text).toContain('You have **0** credits in this server.');
    expect(text.match(/charged 20/g)).toHaveLength(1);

    // The books, read from the store once the bot is down: one hold, one spend, no refund, no drift.
    await w.bot.stop();
    const store = await openStore(w.storeUrl, () => undefined);
    try {
      const economy = store.economy({ startingCredits: 50 });
      const entries = await economy.entries({ scope: w.discord.guildId, userId: w.member.id }, 50);
      const jobEntries = entries.filter((e) => e.jobId !== undefined).map((e) => e.kind);
      expect(jobEntries.sort()).toEqual(['hold', 'spend']);
      expect(await economy.wallet({ scope: w.discord.guildId, userId: w.member.id })).toEqual({
        free: 0,
        held: 0,
      });
      expect(await economy.audit()).toEqual([]);
    } finally {
      await store.close();
    }
    expect(resultsFor(w, w.member)).toHaveLength(1);
  });
});
