// Cancel racing the provider's completion, end to end: the real bot and discord.js, Cancel
// pressed on the status card through the fake Discord at moments around the fake WaveSpeed
// finishing the job. Every run ends in exactly one outcome: cancelled (refunded in full, the card
// says so, no result ever posted, however long we wait) or delivered (one result, charged, and the
// press answered privately that it was too late). Never both, never neither.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeChannel, FakeInteraction, FakeUser, StoredMessage } from '../fakes/discord/index.js';
import { visibleText } from '../fakes/discord/visible.js';
import { closeChecked, creditsOf, startWorld, type World } from './harness.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const STATUS_MARKER = /-# status · job ([A-Za-z0-9_-]+)/;

interface Round {
  name: string;
  member: FakeUser;
  channel: FakeChannel;
  threadId: string;
  jobId: string;
  taskId: string;
  card: StoredMessage;
}

/** Where a moment arranges the press; resolves with the pressed interaction. */
type Moment = (w: World, r: Round, press: () => Promise<FakeInteraction>) => Promise<FakeInteraction>;

/** Presses inside `hook` on the first matching request, and holds its answer back `holdMs`. */
function pressInside(
  on: (hook: () => Promise<void>) => () => void,
  when: () => boolean,
  press: () => Promise<FakeInteraction>,
  holdMs: number,
): Promise<FakeInteraction> {
  return new Promise((resolve, reject) => {
    let fired = false;
    const off = on(async () => {
      if (fired || !when()) return;
      fired = true;
      off();
      press().then(resolve, reject);
      await sleep(holdMs);
    });
  });
}

const POLL = (taskId: string) => new RegExp(`^/api/v3/predictions/${taskId}(/result)?$`);
const MESSAGES_IN = (channelId: string) => new RegExp(`^/api/v\\d+/channels/${channelId}/messages$`);
const REACTION_IN = (channelId: string) =>
  new RegExp(`^/api/v\\d+/channels/${channelId}/messages/\\d+/reactions/`);

const MOMENTS: [string, Moment, 'cancelled' | 'too_late' | 'either'][] = [
  [
    'while the provider is still running',
    async (w, r, press) => {
      const pressed = await press();
      await pressed.waitForReply(10_000);
      w.wavespeed.completeNow(r.taskId); // it finishes anyway, after the cancel
      return pressed;
    },
    'cancelled',
  ],
  [
    'during a poll the provider answers "processing"',
    (w, r, press) =>
      pressInside(
        (hook) => w.wavespeed.onRequest('GET', POLL(r.taskId), hook),
        () => w.wavespeed.statusOf(r.taskId) === 'processing',
        async () => {
          const pressed = await press();
          setTimeout(() => w.wavespeed.completeNow(r.taskId), 20);
          return pressed;
        },
        60,
      ),
    'either',
  ],
  [
    'during the poll that says the video is ready',
    (w, r, press) => {
      const pressed = pressInside(
        (hook) => w.wavespeed.onRequest('GET', POLL(r.taskId), hook),
        () => w.wavespeed.statusOf(r.taskId) === 'completed',
        press,
        60,
      );
      w.wavespeed.completeNow(r.taskId);
      return pressed;
    },
    'too_late',
  ],
  [
    'while the result is on its way to Discord',
    (w, r, press) => {
      const pressed = pressInside(
        (hook) => w.discord.onRequest('POST', MESSAGES_IN(r.threadId), hook),
        () => true,
        press,
        100,
      );
      w.wavespeed.completeNow(r.taskId);
      return pressed;
    },
    'too_late',
  ],
  [
    'after the result is posted, while the bot adds its 🔁',
    (w, r, press) => {
      const pressed = pressInside(
        (hook) => w.discord.onRequest('PUT', REACTION_IN(r.threadId), hook),
        () => true,
        press,
        100,
      );
      w.wavespeed.completeNow(r.taskId);
      return pressed;
    },
    'too_late',
  ],
  // The provider finishes, then the press comes this many ms later: whichever of the bot's next
  // poll and the press takes the job first wins.
  ...[0, 3, 10, 25, 50, 100].map((ms): [string, Moment, 'either'] => [
    `${ms} ms after the provider finished`,
    async (w, r, press) => {
      w.wavespeed.completeNow(r.taskId);
      await sleep(ms);
      return press();
    },
    'either',
  ]),
];

let world: World | undefined;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await closeChecked(world);
  world = undefined;
});

/** A held job in a channel of its own for a member of its own, its card showing Cancel. */
async function startRound(w: World, name: string, n: number): Promise<Round> {
  const member = w.discord.addUser({ username: `member${n}` });
  const channel = w.discord.addChannel({ name: `race-${n}` });
  const before = w.wavespeed.submissions.length;
  await (await w.animate({ user: member, channelId: channel.id })).waitForReply(10_000);
  const taskId = await w.discord.waitFor(() => w.wavespeed.submissions[before]?.taskId, 10_000);
  const card = await w.discord.waitFor(() => {
    const m = w.discord.messagesIn(channel.id)[0];
    return m && cancelIdOf(m) !== undefined && m;
  });
  const jobId = STATUS_MARKER.exec(card.content)?.[1] ?? '';
  const thread = await w.discord.waitFor(() => w.discord.threads.find((t) => t.parentId === channel.id));
  return { name, member, channel, threadId: thread.id, jobId, taskId, card };
}

function cancelIdOf(m: StoredMessage | undefined): string | undefined {
  return (m?.components ?? [])
    .flatMap((row) => (row as { components?: { custom_id?: string }[] }).components ?? [])
    .map((c) => c.custom_id ?? '')
    .find((id) => id.startsWith('v1:cancel:'));
}

/** Every post for this job, wherever it landed: thread, channel, DM, interaction follow-ups. */
function postsOf(w: World, r: Round, kind: 'result' | 'failure'): StoredMessage[] {
  const mark = `-# ${kind} · job ${r.jobId}`;
  const places = [r.threadId, r.channel.id, w.discord.dmChannelFor(r.member.id).id];
  const followups = w.discord.interactions.flatMap((i) => i.followups);
  return [...places.flatMap((id) => w.discord.messagesIn(id)), ...followups].filter((m) =>
    m.content.includes(mark),
  );
}

const endedLines = (w: World, r: Round) =>
  w.logs.filter((l) => l.includes(`"jobId":"${r.jobId}"`) && /"msg":"job (delivered|failed)"/.test(l));

describe('Cancel racing the completion', () => {
  it(`ends each of ${MOMENTS.length} races in exactly one outcome, credits exact`, async () => {
    const w = world as World;
    w.wavespeed.hold(); // every task runs until a moment lets it finish
    const ended: { round: Round; outcome: 'cancelled' | 'too_late' }[] = [];
    for (const [n, [name, moment, expected]] of MOMENTS.entries()) {
      const r = await startRound(w, name, n);
      const press = () =>
        w.discord.pressButton({
          user: r.member,
          customId: cancelIdOf(r.card) ?? '',
          messageId: r.card.id,
          channelId: r.channel.id,
        });
      const reply = await (await moment(w, r, press)).waitForReply(10_000);
      expect(reply.ephemeral, name).toBe(true);
      const outcome = reply.content.startsWith('Cancelled.')
        ? 'cancelled'
        : reply.content.startsWith('Too late to cancel')
          ? 'too_late'
          : undefined;
      expect(outcome, `${name}: ${reply.content}`).toBeDefined();
      if (expected !== 'either') expect(outcome, name).toBe(expected);
      w.wavespeed.completeNow(r.taskId);
      // The job has ended once the bot logs it; only then may the next race start.
      await w.discord.waitFor(() => endedLines(w, r).length > 0, 10_000);
      ended.push({ round: r, outcome: outcome ?? 'cancelled' });
    }

    // The cards' last edits (spaced 5 s apart) land, and any late post would have by then too.
    await w.discord.waitFor(
      () =>
        ended.every(({ round, outcome }) =>
          visibleText(w.discord.messagesIn(round.channel.id)[0]).includes(
            outcome === 'cancelled' ? 'Cancelled' : 'Done',
          ),
        ),
      10_000,
    );
    await sleep(1000);

    for (const { round: r, outcome } of ended) {
      const card = w.discord.messagesIn(r.channel.id)[0];
      expect(cancelIdOf(card), r.name).toBeUndefined();
      expect(endedLines(w, r), r.name).toHaveLength(1);
      const results = postsOf(w, r, 'result');
      const failures = postsOf(w, r, 'failure');
      if (outcome === 'cancelled') {
        expect(results, r.name).toEqual([]);
        expect(
          failures.map((m) => m.content.includes('You cancelled this video.')),
          r.name,
        ).toEqual([true]);
        expect(await creditsOf(w, r.member), r.name).toBe(100);
      } else {
        expect(
          results.map((m) => m.attachments.length),
          r.name,
        ).toEqual([1]);
        expect(failures, r.name).toEqual([]);
        expect(await creditsOf(w, r.member), r.name).toBe(80);
      }
    }
    const outcomes = new Set(ended.map((e) => e.outcome));
    expect([...outcomes].sort()).toEqual(['cancelled', 'too_late']);
    expect(w.discord.rejected).toEqual([]);
    expect(w.discord.requests.filter((q) => (q.status ?? 200) >= 400)).toEqual([]);
  }, 60_000);
});
