// Refusals that protect a server end to end on the real bot: a blocklisted prompt is refused
// before anything is charged or sent, and a member's reruns wait out RERUN_COOLDOWN_S whether
// they come from the 🔁 reaction or the Rerun button.
import { afterEach, describe, expect, it } from 'vitest';
import type { StoredMessage } from '../fakes/discord/index.js';
import { addAdmin, adminCommand, registerCommands } from './admin.js';
import { closeChecked, creditsOf, resultMessage, startWorld, type World } from './harness.js';

let world: World | undefined;
afterEach(async () => {
  await closeChecked(world);
  world = undefined;
});

const rerunButton = (m: StoredMessage): string =>
  (m.components as { components?: { custom_id?: string }[] }[])
    .flatMap((row) => row.components ?? [])
    .map((c) => c.custom_id ?? '')
    .find((id) => id.startsWith('v1:rerun:')) ?? '';

describe('a blocklisted prompt', () => {
  it('is refused privately before any charge, upload or submit, and logged', async () => {
    world = await startWorld();
    const w = world;
    await registerCommands(w);
    const admin = addAdmin(w);
    expect((await adminCommand(w, admin, 'blocklist', { action: 'add', pattern: 'gore' })).ephemeral).toBe(
      true,
    );
    const reply = await (await w.animate({ prompt: 'a scene full of Gore!' })).waitForReply();
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toContain('Nothing was charged');
    expect(w.wavespeed.submissions).toHaveLength(0);
    expect(w.wavespeed.uploads).toHaveLength(0);
    expect(w.discord.messagesIn(w.discord.channelId)).toHaveLength(0);
    expect(await creditsOf(w)).toBe(100);
    expect(w.logs.some((l) => l.includes('"code":"prompt_blocked"'))).toBe(true);
    // A word inside another is not the word.
    const fine = await (await w.animate({ prompt: 'a gorilla waves' })).waitForReply();
    expect(fine.content).toContain('Accepted');
  });
});

describe('the rerun cooldown', () => {
  it('a second rerun within RERUN_COOLDOWN_S, by button after a 🔁, is refused privately and charges nothing', async () => {
    world = await startWorld({ RERUN_COOLDOWN_S: '60' });
    const w = world;
    await (await w.animate()).waitForReply();
    const result = await resultMessage(w);
    const fan = w.discord.addUser({ username: 'fan' });
    w.discord.react({ user: fan, channelId: result.channel_id, messageId: result.id, emoji: '🔁' });
    await w.discord.waitFor(() => w.wavespeed.submissions.length === 2, 10_000);

    const pressed = await w.discord.pressButton({
      user: fan,
      customId: rerunButton(result),
      messageId: result.id,
      channelId: result.channel_id,
    });
    const reply = await pressed.waitForReply(5000);
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toMatch(/You can rerun again <t:\d+:R>, so nothing was started or charged\./);
    await new Promise((r) => setTimeout(r, 300));
    expect(w.wavespeed.submissions).toHaveLength(2);
    expect(await creditsOf(w, fan)).toBe(80);
  });
});
