// What the end-to-end tests of a server's own rules add to the harness: the commands registered
// from their real JSON (so the fake Discord checks every /animate-admin a test sends against it,
// as Discord would), a member with Manage Server, /animate-admin itself, a clock the test moves
// (allowance and cap periods are UTC days), and reading results, statuses and /credits.
import { visibleText } from '../fakes/discord/visible.js';
import { REST, Routes } from 'discord.js';
import { commands } from '../../src/commands/index.js';
import type { Clock } from '../../src/engine/clock.js';
import type { FakeUser, ReplySummary, StoredMessage } from '../fakes/discord/index.js';
import type { World } from './harness.js';

/** The system clock shifted to a chosen moment; `set` jumps it (only while no job is in flight). */
export interface TestClock extends Clock {
  set(ms: number): void;
}

export function testClock(startAt: number): TestClock {
  let offset = startAt - Date.now();
  return {
    now: () => Date.now() + offset,
    setTimer: (fn, delayMs) => setTimeout(fn, delayMs),
    clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
    set(ms) {
      offset = ms - Date.now();
    },
  };
}

/** A Wednesday, noon UTC: the day's cap and allowance reset at `unix(MIDNIGHT)`. */
export const NOON = Date.UTC(2025, 4, 14, 12);
export const MIDNIGHT = Date.UTC(2025, 4, 15);
/** A moment as Discord's relative timestamp markup. */
export const relative = (ms: number) => `<t:${Math.floor(ms / 1000)}:R>`;

/** Registers the bot's commands (as deploy-commands would), so interactions are checked against them. */
export async function registerCommands(w: World): Promise<void> {
  const rest = new REST({ version: '10', api: w.discord.apiBase }).setToken(w.discord.botToken);
  await rest.put(Routes.applicationCommands(w.discord.applicationId), { body: commands.map((c) => c.data) });
}

/** A member who has Manage Server through a role, not the owner. */
export function addAdmin(w: World): FakeUser {
  const managers = w.discord.addRole({ name: 'managers', permissions: ['ManageGuild'] });
  const admin = w.discord.addUser({ username: 'admin' });
  w.discord.giveRole(admin.id, managers.id);
  return admin;
}

const OPTION_TYPES: Record<string, number> = { member: 6, amount: 4, jobs: 4, channel: 7, role: 8 };

/** /animate-admin `path` ("cap", "credits grant") with its options; resolves to the reply. */
export async function adminCommand(
  w: World,
  user: FakeUser,
  path: string,
  options: Record<string, string | number> = {},
): Promise<ReplySummary> {
  const [first, second] = path.split(' ') as [string, string | undefined];
  const leaves = Object.entries(options).map(([name, value]) => ({
    name,
    type: OPTION_TYPES[name] ?? 3,
    value,
  }));
  const sub = second
    ? [{ name: first, type: 2, options: [{ name: second, type: 1, options: leaves }] }]
    : [{ name: first, type: 1, options: leaves }];
  const interaction = await w.discord.sendCommand({ name: 'animate-admin', user, options: sub });
  return interaction.waitForReply();
}

/** Every message in every thread the bot started. */
export const inThreads = (w: World): StoredMessage[] =>
  w.discord.threads.flatMap((t) => w.discord.messagesIn(t.id));

/** Results delivered to `user` (each result pings its requester), in any thread. */
export const resultsFor = (w: World, user: FakeUser): StoredMessage[] =>
  inThreads(w).filter(
    (m) => m.content.includes('your video is ready') && m.content.includes(`<@${user.id}>`),
  );

/** Log lines of the bot with this message, about `user`'s jobs. */
export const logged = (w: World, msg: string, user: FakeUser): Record<string, unknown>[] =>
  w.logs
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((l) => l.msg === msg && l.userId === user.id);

/**
 * Waits until `user` has `n` results and `n` jobs delivered: the charge comes after the post, so
 * a result on its own does not mean the job is settled.
 */
export function waitForResults(w: World, user: FakeUser, n: number): Promise<StoredMessage[]> {
  return w.discord.waitFor(() => {
    const got = resultsFor(w, user);
    return got.length >= n && logged(w, 'job delivered', user).length >= n && got;
  }, 10_000);
}

/** Status messages in the command's channel whose text mentions `prompt`. */
export const statusesAbout = (w: World, prompt: string): StoredMessage[] =>
  w.discord.messagesIn(w.discord.channelId).filter((m) => visibleText(m).includes(prompt));

/** The member's own /credits, as they read it. */
export async function statement(w: World, user: FakeUser = w.member): Promise<string> {
  const reply = await (await w.discord.sendCommand({ name: 'credits', user })).waitForReply();
  return reply.content;
}

/** The first bold number of a statement: the free balance. */
export const balanceIn = (text: string): number => Number(/\*\*(\d+)\*\*/.exec(text)?.[1]);

/** The statement's allowance entries, newest first, as their top-ups. */
export const allowanceTopUps = (text: string): number[] =>
  [...text.matchAll(/^` *\+(\d+)` allowance\b/gm)].map((m) => Number(m[1]));
