import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Command, CommandDeps } from '../../src/commands/types.js';
import { AckQueue, deferFirst } from '../../src/discord/ack-first.js';
import { routeInteractions } from '../../src/discord/interactions.js';
import { createLogger } from '../../src/logger.js';
import { connectedClients } from './connected.js';

/** Whether a promise has settled by now (after pending microtasks run). */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await Promise.resolve();
  await Promise.resolve();
  return done;
}

describe('AckQueue: work after an answer lets the other answers go first', () => {
  afterEach(() => vi.useRealTimers());

  it('goes on at once when nothing else is waiting for its answer', async () => {
    const acks = new AckQueue();
    acks.received('a');
    expect(await settled(acks.afterOthers('a'))).toBe(true);
    expect(acks.unanswered).toBe(0);
  });

  it('waits until every interaction that arrived before it is answered', async () => {
    const acks = new AckQueue();
    for (const id of ['a', 'b', 'c']) acks.received(id);
    const after = acks.afterOthers('b');
    expect(await settled(after)).toBe(false);
    acks.answered('a');
    expect(await settled(after)).toBe(false);
    acks.answered('c');
    expect(await settled(after)).toBe(true);
  });

  it('does not wait for interactions that arrive after its answer', async () => {
    const acks = new AckQueue();
    acks.received('a');
    acks.received('b');
    const after = acks.afterOthers('a');
    acks.received('late');
    acks.answered('b');
    expect(await settled(after)).toBe(true);
    expect(acks.unanswered).toBe(1);
  });

  it('releases each waiter as soon as its own predecessors are answered', async () => {
    const acks = new AckQueue();
    for (const id of ['a', 'b', 'c']) acks.received(id);
    const first = acks.afterOthers('a'); // waits for b and c
    acks.received('d');
    const second = acks.afterOthers('b'); // waits for c and d
    acks.answered('c');
    expect(await settled(first)).toBe(true);
    expect(await settled(second)).toBe(false);
    acks.answered('d');
    expect(await settled(second)).toBe(true);
  });

  it('never waits longer than its ceiling, however long another answer takes', async () => {
    vi.useFakeTimers();
    const acks = new AckQueue(500);
    acks.received('slow');
    acks.received('a');
    const after = acks.afterOthers('a');
    await vi.advanceTimersByTimeAsync(499);
    expect(await settled(after)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await settled(after)).toBe(true);
    // The timed-out waiter is gone: answering the slow one later releases nothing twice.
    acks.answered('slow');
    expect(acks.unanswered).toBe(0);
  });

  it('counts an interaction once however often it is received or answered', async () => {
    const acks = new AckQueue();
    acks.received('a');
    acks.received('a');
    acks.received('b');
    acks.answered('a');
    acks.answered('a');
    expect(acks.unanswered).toBe(1);
    const after = acks.afterOthers('b');
    expect(await settled(after)).toBe(true);
    expect(acks.unanswered).toBe(0);
  });
});

describe('the router with acknowledgements first', () => {
  const connect = connectedClients();
  const quiet = { log: createLogger({ level: 'silent' }) } as Partial<CommandDeps> as CommandDeps;
  /** Answers "thinking…", lets the others answer, then says where it got to. */
  const ok: Command = {
    data: { name: 'ok', description: 'answers' },
    async execute(interaction, deps) {
      await deferFirst(interaction, deps.acks);
      await interaction.editReply({ content: 'done', allowedMentions: { parse: [] } });
    },
  };

  it('counts a handler that failed before answering as answered, so it holds nobody up', async () => {
    const { fake, client } = await connect();
    const acks = new AckQueue(60_000);
    const boom: Command = {
      data: { name: 'boom', description: 'fails' },
      execute: () => Promise.reject(new Error('broken before the deferral')),
    };
    routeInteractions(client, [ok, boom], { ...quiet, acks });
    const user = fake.addUser();
    const [failed, fine] = await Promise.all([
      fake.sendCommand({ name: 'boom', user }),
      fake.sendCommand({ name: 'ok', user }),
    ]);
    expect((await failed.waitForReply()).content).toContain('went wrong');
    // Well before the minute-long ceiling: the failed one's end released the wait.
    expect((await fine.waitForReply(5000)).content).toBe('done');
    await fake.waitFor(() => acks.unanswered === 0 || undefined);
  });

  it('goes on after its ceiling when another interaction is never answered', async () => {
    const { fake, client } = await connect();
    const acks = new AckQueue(100);
    const hang: Command = {
      data: { name: 'hang', description: 'never answers' },
      execute: () => new Promise<void>(() => undefined),
    };
    routeInteractions(client, [ok, hang], { ...quiet, acks });
    const user = fake.addUser();
    await fake.sendCommand({ name: 'hang', user });
    await fake.waitFor(() => acks.unanswered === 1 || undefined);
    const fine = await fake.sendCommand({ name: 'ok', user });
    expect((await fine.waitForReply(5000)).content).toBe('done');
    expect(acks.unanswered).toBe(1);
  });
});
