// Each model end to end through the real bot: the exact body each provider receives, the price
// charged, the status message and its thread; and the options a model lacks refused up front.
import { visibleText } from '../fakes/discord/visible.js';
import { afterEach, describe, expect, it } from 'vitest';
import { FAKE_MP4 } from '../fakes/fal.js';
import {
  FAL_KEY,
  PNG,
  startWorld,
  WS_KEY,
  type World,
  closeChecked,
  resultMessage,
  creditsOf,
} from './harness.js';

/** A 2×1 PNG, different from the harness's, for `end_image`. */
const END_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAIAAAB7QOjdAAAAD0lEQVR4nGP4z8DAwPAfAAcAAf9+CLHQAAAAAElFTkSuQmCC',
  'base64',
);

const STRING = 3;
const INTEGER = 4;
const BOOLEAN = 5;
const ATTACHMENT = 11;

let world: World | undefined;
afterEach(async () => {
  await closeChecked(world);
  world = undefined;
});

/** The status message in the channel, the thread started from it, and the status once it says Done. */
async function statusAndThread(w: World) {
  const thread = w.discord.threads[0];
  expect(thread?.parentId).toBe(w.discord.channelId);
  const status = () =>
    w.discord.messagesIn(w.discord.channelId).find((m) => m.id === thread?.starterMessageId);
  expect(status()?.author.id).toBe(w.discord.botUser.id);
  return w.discord.waitFor(() => visibleText(status()).includes('Done') && status());
}

describe('each model end to end', () => {
  it('wavespeed/ray-2, portrait, 10 s: luma/ray-2-i2v with the WaveSpeed upload, 80 credits', async () => {
    world = await startWorld();
    const w = world;
    const reply = await (
      await w.animate({
        prompt: 'the cat stretches',
        options: [
          { name: 'model', type: STRING, value: 'wavespeed/ray-2' },
          { name: 'size', type: STRING, value: 'portrait' },
          { name: 'duration', type: INTEGER, value: 10 },
        ],
      })
    ).waitForReply();
    expect(reply.content).toContain('80 credits reserved');

    const result = await resultMessage(w);
    const task = [...w.wavespeed.tasks.values()][0];
    expect(result.attachments).toHaveLength(1);
    expect(task && result.attachments[0]?.bytes.equals(task.videoBytes)).toBe(true);

    expect(w.wavespeed.uploads).toHaveLength(1);
    expect(w.wavespeed.uploads[0]?.bytes.equals(PNG)).toBe(true);
    expect(w.wavespeed.submissions).toHaveLength(1);
    const submit = w.wavespeed.submissions[0];
    expect(submit?.endpoint).toBe('luma/ray-2-i2v');
    expect(submit?.headers.authorization).toBe(`Bearer ${WS_KEY}`);
    expect(submit?.body).toEqual({
      image: w.wavespeed.uploads[0]?.url,
      prompt: 'the cat stretches',
      size: '720*1280',
      duration: 10,
    });
    expect(w.fal.submissions).toHaveLength(0);

    const status = await statusAndThread(w);
    expect(visibleText(status)).toContain('80 credits');
    expect(await creditsOf(w)).toBe(20);
  });

  it('fal/ray-2-flash, portrait, 10 s: 9:16 and "9s" with the fal upload, 36 credits, fal URLs followed', async () => {
    world = await startWorld();
    const w = world;
    const reply = await (
      await w.animate({
        prompt: 'the cat stretches',
        options: [
          { name: 'model', type: STRING, value: 'fal/ray-2-flash' },
          { name: 'size', type: STRING, value: 'portrait' },
          { name: 'duration', type: INTEGER, value: 10 },
        ],
      })
    ).waitForReply();
    expect(reply.content).toContain('36 credits reserved');

    const result = await resultMessage(w);
    expect(result.attachments).toHaveLength(1);
    expect(result.attachments[0]?.filename).toMatch(/\.mp4$/);
    expect(result.attachments[0]?.bytes.equals(FAKE_MP4)).toBe(true);

    expect(w.fal.uploads).toHaveLength(1);
    expect(w.fal.uploads[0]?.bytes.equals(PNG)).toBe(true);
    expect(w.fal.submissions).toHaveLength(1);
    const submit = w.fal.submissions[0];
    expect(submit?.endpoint).toBe('fal-ai/luma-dream-machine/ray-2-flash/image-to-video');
    expect(submit?.headers.authorization).toBe(`Key ${FAL_KEY}`);
    expect(submit?.body).toEqual({
      prompt: 'the cat stretches',
      image_url: w.fal.uploads[0]?.url,
      aspect_ratio: '9:16',
      duration: '9s',
    });
    expect(w.wavespeed.submissions).toHaveLength(0);

    // Followed over the status stream until COMPLETED (no status poll), then fetched the result
    // exactly once, after it completed (docs/push.md).
    const id = submit?.requestId as string;
    expect(id).toBeDefined();
    expect(w.fal.streams.map((s) => s.id)).toEqual([id]);
    expect(w.fal.statusPolls).toHaveLength(0);
    expect(w.fal.resultFetches).toHaveLength(1);
    expect(w.fal.resultFetches[0]).toMatchObject({ id, answered: 200 });
    expect(w.fal.resultFetches[0]?.at).toBeGreaterThanOrEqual(w.fal.completedAt(id) ?? Infinity);

    await statusAndThread(w);
    expect(await creditsOf(w)).toBe(64);
  });

  it('fal/ray-2-flash with 1080p, loop, an end image and 21:9: every option on the wire, 80 credits', async () => {
    world = await startWorld();
    const w = world;
    const end = w.discord.addAttachment({ filename: 'end.png', bytes: END_PNG, contentType: 'image/png' });
    const reply = await (
      await w.animate({
        prompt: 'the cat walks away',
        extraAttachments: [end],
        options: [
          { name: 'model', type: STRING, value: 'fal/ray-2-flash' },
          { name: 'size', type: STRING, value: '21:9' },
          { name: 'resolution', type: STRING, value: '1080p' },
          { name: 'loop', type: BOOLEAN, value: true },
          { name: 'end_image', type: ATTACHMENT, value: end.id },
        ],
      })
    ).waitForReply();
    expect(reply.content).toContain('80 credits reserved');

    await resultMessage(w);
    expect(w.fal.uploads).toHaveLength(2);
    const start = w.fal.uploads.find((u) => u.bytes.equals(PNG));
    const finish = w.fal.uploads.find((u) => u.bytes.equals(END_PNG));
    expect(start).toBeDefined();
    expect(finish).toBeDefined();
    expect(w.fal.submissions).toHaveLength(1);
    expect(w.fal.submissions[0]?.body).toEqual({
      prompt: 'the cat walks away',
      image_url: start?.url,
      end_image_url: finish?.url,
      aspect_ratio: '21:9',
      duration: '5s',
      resolution: '1080p',
      loop: true,
    });

    const status = await statusAndThread(w);
    expect(visibleText(status)).toContain('1080p');
    expect(await creditsOf(w)).toBe(20);
  });

  it('with only a fal key, a request that names no model runs on fal/ray-2-flash (the default is WaveSpeed)', async () => {
    world = await startWorld({ WAVESPEED_API_KEY: '' });
    const w = world;
    expect(
      w.logs.filter((l) => l.includes('"level":40')).map((l) => (JSON.parse(l) as { msg: string }).msg),
    ).toEqual([
      'model wavespeed/ray-2-flash is off: WAVESPEED_API_KEY is not set',
      'model wavespeed/ray-2 is off: WAVESPEED_API_KEY is not set',
    ]);
    const reply = await (await w.animate()).waitForReply(10_000);
    expect(reply.content).not.toMatch(/not available/);
    await resultMessage(w);
    expect(w.fal.submissions).toHaveLength(1);
    expect(w.wavespeed.submissions).toHaveLength(0);
    expect(await creditsOf(w)).toBe(100 - 20);
  });

  it('wavespeed/ray-2-flash refuses resolution, loop, end_image and size 4:3, naming the option', async () => {
    world = await startWorld();
    const w = world;
    const end = w.discord.addAttachment({ filename: 'end.png', bytes: END_PNG, contentType: 'image/png' });
    const cases = [
      { option: 'resolution', extra: { name: 'resolution', type: STRING, value: '720p' } },
      { option: 'loop', extra: { name: 'loop', type: BOOLEAN, value: true } },
      { option: 'end_image', extra: { name: 'end_image', type: ATTACHMENT, value: end.id } },
      { option: 'size: 4:3', extra: { name: 'size', type: STRING, value: '4:3' } },
    ];
    for (const { option, extra } of cases) {
      const reply = await (
        await w.animate({
          extraAttachments: [end],
          options: [{ name: 'model', type: STRING, value: 'wavespeed/ray-2-flash' }, extra],
        })
      ).waitForReply();
      expect(reply.ephemeral, option).toBe(true);
      expect(reply.content, option).toContain(`does not support \`${option}\``);
      expect(reply.content, option).toContain('Nothing was charged');
    }
    expect(w.wavespeed.submissions).toHaveLength(0);
    expect(w.wavespeed.uploads).toHaveLength(0);
    expect(w.fal.submissions).toHaveLength(0);
    expect(w.discord.threads).toHaveLength(0);
    expect(await creditsOf(w)).toBe(100);
  });
});
