// Push end to end (docs/push.md): the real bot with PUBLIC_URL set registers webhooks, the fake
// providers POST signed deliveries to its listener, and a job ends with a submit, the result and
// hardly any polls. A delivery that is forged, stale, signed by an unknown key or repeated
// changes nothing; a lost one is made good by the safety-net polls. Without PUBLIC_URL a fal job
// follows fal's status stream, and polls when the stream fails.
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../store/backends.js';
import { closeChecked, resultMessage, results, startWorld, type World } from './harness.js';

const STRING = 3;
const FAL = [{ name: 'model', type: STRING, value: 'fal/ray-2-flash' }];
/** An expected run far longer than the fakes' ~250 ms: no safety-net poll comes before the webhook. */
const SLOW_MODEL = 'wavespeed/ray-2-flash=60000,wavespeed/ray-2=60000,fal/ray-2-flash=60000';
/** Short enough that the safety net's first poll (a little before the median) comes within ~2 s. */
const SAFETY_NET_SOON = 'wavespeed/ray-2-flash=2000,wavespeed/ray-2=2000,fal/ray-2-flash=2000';

let w: World | undefined;
afterEach(async () => {
  await closeChecked(w);
  w = undefined;
});

async function withWebhooks(env: Record<string, string> = {}, fakes: Parameters<typeof startWorld>[1] = {}) {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const world = await startWorld(
    { PUBLIC_URL: publicUrl, WEBHOOK_PORT: String(port), EXPECTED_RUN_MS: SLOW_MODEL, ...env },
    fakes,
  );
  return { world, publicUrl };
}

interface Line {
  msg: string;
  time: number;
  [key: string]: unknown;
}
const lines = (world: World): Line[] => world.logs.map((l) => JSON.parse(l) as Line);
const logged = (world: World, msg: string) => lines(world).filter((l) => l.msg === msg);

describe('webhooks', () => {
  it('deliver a WaveSpeed job with one status request (the result), registering the webhook on submit', async () => {
    const setup = await withWebhooks();
    w = setup.world;
    const world = w;
    await (await world.animate()).waitForReply();
    await resultMessage(world);
    expect(world.wavespeed.submissions[0]?.webhook).toBe(`${setup.publicUrl}/webhooks/wavespeed`);
    expect(world.wavespeed.webhooks[0]?.status).toBe(200);
    expect(world.wavespeed.polls.length).toBeLessThanOrEqual(3);
    expect(world.wavespeed.polls).toHaveLength(1);
    expect(logged(world, 'video ready')[0]).toMatchObject({ pushed: true });
    // A second job: the secret was fetched once and kept.
    await (await world.animate()).waitForReply();
    await world.discord.waitFor(() => logged(world, 'job delivered').length === 2 || undefined, 10_000);
    expect(world.wavespeed.secretFetches).toBe(1);
  });

  it('deliver a fal job by the result alone, and open no status stream', async () => {
    const setup = await withWebhooks();
    w = setup.world;
    const world = w;
    await (await world.animate({ options: FAL })).waitForReply();
    await resultMessage(world);
    expect(world.fal.submissions[0]?.webhook).toBe(`${setup.publicUrl}/webhooks/fal`);
    expect(world.fal.webhooks[0]?.status).toBe(200);
    expect(world.fal.statusPolls.length).toBeLessThanOrEqual(3);
    expect(world.fal.statusPolls).toHaveLength(0);
    expect(world.fal.resultFetches).toHaveLength(1);
    expect(world.fal.streams).toHaveLength(0);
    expect(world.fal.jwksFetches).toBe(1);
  });

  for (const fault of [{ badSignature: true }, { staleTimestamp: true }] as const) {
    it(`refuse a WaveSpeed delivery with ${Object.keys(fault)[0]} (401) and change nothing; the safety net delivers`, async () => {
      const setup = await withWebhooks({ EXPECTED_RUN_MS: SAFETY_NET_SOON });
      w = setup.world;
      const world = w;
      world.wavespeed.failWebhook(fault);
      await (await world.animate()).waitForReply();
      await world.wavespeed.webhookSent(1);
      expect(world.wavespeed.webhooks[0]?.status).toBe(401);
      const pollsAtRefusal = world.wavespeed.polls.length;
      await new Promise((r) => setTimeout(r, 200));
      // Nothing woke: no poll because of it, no result yet.
      expect(world.wavespeed.polls.length).toBe(pollsAtRefusal);
      expect(results(world)).toHaveLength(0);
      await resultMessage(world);
      expect(logged(world, 'video ready')[0]?.pushed).toBeUndefined();
      expect(logged(world, 'webhook refused')).toHaveLength(1);
    });
  }

  it('refuse a fal delivery signed by a key fal never published, and change nothing', async () => {
    const setup = await withWebhooks({ EXPECTED_RUN_MS: SAFETY_NET_SOON });
    w = setup.world;
    const world = w;
    world.fal.failWebhook({ unknownKey: true });
    await (await world.animate({ options: FAL })).waitForReply();
    await world.fal.webhookSent(1);
    expect(world.fal.webhooks[0]?.status).toBe(401);
    // Fetched for this delivery: asking again for an unknown key waits a minute after a fetch.
    expect(world.fal.jwksFetches).toBe(1);
    expect(world.fal.resultFetches).toHaveLength(0);
    await resultMessage(world);
    expect(results(world)).toHaveLength(1);
  });

  it('take a duplicate delivery with 200 and change nothing: one result, one charge', async () => {
    const setup = await withWebhooks();
    w = setup.world;
    const world = w;
    world.wavespeed.failWebhook({ duplicate: true });
    await (await world.animate()).waitForReply();
    await world.wavespeed.webhookSent(2);
    expect(world.wavespeed.webhooks.map((d) => d.status)).toEqual([200, 200]);
    await resultMessage(world);
    // Replayed later, byte for byte: still nothing.
    expect((await world.wavespeed.resend(0)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    expect(results(world)).toHaveLength(1);
    expect(world.wavespeed.polls).toHaveLength(1);
    expect(logged(world, 'webhook received')).toHaveLength(1);
    expect(logged(world, 'job delivered')).toHaveLength(1);
  });

  it('make good a lost webhook with the safety-net polls', async () => {
    const setup = await withWebhooks({ EXPECTED_RUN_MS: SAFETY_NET_SOON });
    w = setup.world;
    const world = w;
    world.wavespeed.failWebhook({ drop: true });
    await (await world.animate()).waitForReply();
    await resultMessage(world);
    expect(world.wavespeed.webhooks[0]?.dropped).toBe(true);
    // No early look and no dense polling: a few safety-net polls, the last one finding the video.
    expect(world.wavespeed.polls.length).toBeGreaterThanOrEqual(1);
    expect(world.wavespeed.polls.length).toBeLessThanOrEqual(4);
  });
});

describe('fal status stream', () => {
  it('follows a fal job and notices COMPLETED within 100 ms, with no status poll', async () => {
    w = await startWorld({ EXPECTED_RUN_MS: SLOW_MODEL }, { fal: { runMs: 1500 } });
    const world = w;
    await (await world.animate({ options: FAL })).waitForReply();
    await resultMessage(world);
    const id = world.fal.submissions[0]?.requestId as string;
    const completedAt = world.fal.completedAt(id) as number;
    const ready = logged(world, 'video ready')[0] as Line;
    expect(ready.time - completedAt).toBeGreaterThanOrEqual(0);
    expect(ready.time - completedAt).toBeLessThan(100);
    expect(world.fal.streams).toHaveLength(1);
    expect(world.fal.statusPolls).toHaveLength(0);
    expect(world.fal.resultFetches).toHaveLength(1);
  });

  it('falls back to polling when the stream keeps failing', async () => {
    w = await startWorld({}, { fal: { runMs: 1500 } });
    const world = w;
    world.fal.failStream({ status: 500 }, { resetAfterEvents: 1 }, { status: 503 }, { status: 502 });
    await (await world.animate({ options: FAL })).waitForReply();
    await resultMessage(world);
    expect(world.fal.streams.length).toBeGreaterThanOrEqual(2);
    expect(world.fal.statusPolls.length).toBeGreaterThan(0);
    expect(logged(world, 'status stream failed; polling instead')).toHaveLength(1);
  });
});
