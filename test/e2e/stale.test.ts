// Interactions the bot does not know (a command it no longer has, a button or modal from an
// older version) are still acknowledged within 3 s, ephemerally, instead of failing silently.
import { afterEach, describe, expect, it } from 'vitest';
import { closeChecked, startWorld, type World } from './harness.js';

let world: World | undefined;
afterEach(async () => {
  await closeChecked(world);
  world = undefined;
});

const STALE = 'This is no longer available.';

describe('unknown interactions', () => {
  it('answers an unknown command, button and modal with an ephemeral "no longer available"', async () => {
    world = await startWorld();
    const w = world;
    const somewhere = w.discord.addMessage({ author: w.discord.botUser, content: 'an old message' });
    const interactions = [
      await w.discord.sendCommand({ name: 'imagine', user: w.member }),
      await w.discord.pressButton({ user: w.member, customId: 'frobnicate:123', messageId: somewhere.id }),
      await w.discord.submitModal({ user: w.member, customId: 'old-modal', fields: { prompt: 'x' } }),
    ];
    for (const interaction of interactions) {
      const reply = await interaction.waitForReply();
      expect(reply).toMatchObject({ content: STALE, ephemeral: true });
      const first = interaction.callbacks[0];
      expect(first && first.at - interaction.receivedAt).toBeLessThan(3000);
    }
  });
});
