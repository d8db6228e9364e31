// A 🔁 rerun outlives the Discord attachment it started from: Discord's signed CDN URLs expire
// within hours, so a rerun must go from the copy already in the provider's own storage.
import { afterEach, describe, expect, it } from 'vitest';
import { ENGINE_DEFAULTS } from '../../src/engine/context.js';
import { PNG, startWorld, type World, closeChecked, results, creditsOf } from './harness.js';

let world: World | undefined;
afterEach(async () => {
  await closeChecked(world);
  world = undefined;
});

/** What each provider's fake recorded, in the same words: the submitted image URL and the upload URLs. */
const providers = [
  {
    model: 'wavespeed/ray-2-flash',
    submissions: (w: World) => w.wavespeed.submissions,
    imageOf: (body: unknown) => (body as { image?: unknown }).image,
    uploads: (w: World) => w.wavespeed.uploads.map((u) => u.url),
  },
  {
    model: 'fal/ray-2-flash',
    submissions: (w: World) => w.fal.submissions,
    imageOf: (body: unknown) => (body as { image_url?: unknown }).image_url,
    uploads: (w: World) => w.fal.uploads.map((u) => u.url),
  },
] as const;

describe.each(providers)('rerun of a $model job after its Discord attachment expired', (p) => {
  it('submits again from the stored provider upload, uploads nothing new, and delivers', async () => {
    world = await startWorld();
    const w = world;
    const image = w.discord.addAttachment({ filename: 'cat.png', bytes: PNG, contentType: 'image/png' });
    const interaction = await w.discord.sendCommand({
      name: 'animate',
      user: w.member,
      attachments: [image],
      options: [
        { name: 'image', type: 11, value: image.id },
        { name: 'prompt', type: 3, value: 'the cat yawns' },
        { name: 'model', type: 3, value: p.model },
      ],
    });
    await interaction.waitForReply();
    const first = await w.discord.waitFor(() => results(w)[0], 10_000);
    expect(p.uploads(w)).toHaveLength(1);

    w.discord.expireAttachment(image.id);
    // The URL the job was made from really is dead now.
    expect((await fetch(image.url)).status).toBe(404);

    w.discord.react({ user: w.member, channelId: first.channel_id, messageId: first.id, emoji: '🔁' });
    const rerun = await w.discord.waitFor(() => results(w)[1], 10_000);

    expect(rerun.attachments).toHaveLength(1);
    expect(rerun.attachments[0]?.filename).toMatch(/\.mp4$/);
    const submissions = p.submissions(w);
    expect(submissions).toHaveLength(2);
    const firstImage = p.imageOf(submissions[0]?.body);
    expect(firstImage).toBe(p.uploads(w)[0]);
    expect(p.imageOf(submissions[1]?.body)).toBe(firstImage);
    expect(submissions[1]?.body).toEqual(submissions[0]?.body);
    expect(p.uploads(w)).toHaveLength(1);
    expect(await creditsOf(w)).toBe(60);
  });
});

describe('rerun after the attachment expired, on a provider that has no copy yet', () => {
  it('fails over to fal and uploads there from the WaveSpeed copy, never from Discord', async () => {
    world = await startWorld();
    const w = world;
    const image = w.discord.addAttachment({ filename: 'cat.png', bytes: PNG, contentType: 'image/png' });
    await (
      await w.discord.sendCommand({
        name: 'animate',
        user: w.member,
        attachments: [image],
        options: [
          { name: 'image', type: 11, value: image.id },
          { name: 'prompt', type: 3, value: 'the cat yawns' },
        ],
      })
    ).waitForReply();
    const first = await w.discord.waitFor(() => results(w)[0], 10_000);
    w.discord.expireAttachment(image.id);
    const cdnBefore = w.discord.requests.filter((r) => r.path.startsWith('/cdn/')).length;
    expect(cdnBefore).toBeGreaterThan(0);

    // WaveSpeed turns every submit away (429): provably not taken, so the rerun fails over.
    for (let i = 0; i < ENGINE_DEFAULTS.submitAttempts; i++) w.wavespeed.failSubmit({ status: 429 });
    w.discord.react({ user: w.member, channelId: first.channel_id, messageId: first.id, emoji: '🔁' });
    const rerun = await w.discord.waitFor(() => results(w)[1], 10_000);

    expect(rerun.attachments).toHaveLength(1);
    expect(w.wavespeed.submissions).toHaveLength(1 + ENGINE_DEFAULTS.submitAttempts);
    expect(w.fal.submissions).toHaveLength(1);
    expect(w.fal.uploads).toHaveLength(1);
    expect(w.fal.uploads[0]?.bytes.equals(PNG)).toBe(true);
    expect((w.fal.submissions[0]?.body as { image_url?: unknown }).image_url).toBe(w.fal.uploads[0]?.url);
    expect(w.discord.requests.filter((r) => r.path.startsWith('/cdn/'))).toHaveLength(cdnBefore);
    expect(await creditsOf(w)).toBe(60);
  });
});
