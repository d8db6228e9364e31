// Acceptance is all or nothing: with a store that fails on the n-th write, every n either
// accepts the job (it is then delivered and charged once) or leaves nothing behind (no submit,
// no charge), whether the same process carries on or the bot restarts on the same store.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Keyv from 'keyv';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/engine/clock.js';
import { ENGINE_DEFAULTS } from '../../src/engine/context.js';
import type { Delivery } from '../../src/engine/delivery.js';
import { createEngine, type AcceptResult, type Engine } from '../../src/engine/engine.js';
import { createHttp } from '../../src/net/http.js';
import type { VideoProvider } from '../../src/providers/types.js';
import { createJobStore } from '../../src/store/jobs.js';
import { createLedger } from '../../src/store/ledger.js';

/** A Keyv store (a Map) whose writes fail from the `failAt`-th one on, until healed. */
class FailingMap extends Map<string, unknown> {
  writes = 0;
  failAt = Infinity;
  failFor = 1;
  override set(key: string, value: unknown): this {
    this.writes += 1;
    if (this.writes >= this.failAt && this.writes < this.failAt + this.failFor) {
      throw new Error(`store write ${this.writes} failed`);
    }
    return super.set(key, value);
  }
}

/** Serves the input image, so a restarted engine can fetch it again. */
async function imageServer() {
  const server = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.from([1])),
  );
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/in.png`, close: () => new Promise((res) => server.close(res)) };
}

async function world(map: FailingMap, startingCredits = 100) {
  const image = await imageServer();
  const keyv = new Keyv({ store: map, throwOnErrors: true });
  const submits: string[] = [];
  const posted: string[] = [];
  const provider: VideoProvider = {
    provider: 'wavespeed',
    endpoint: 'luma/ray-2-flash-i2v',
    submit: (request) => {
      submits.push(request.prompt);
      return Promise.resolve({ id: `task-${submits.length}` });
    },
    // No video to fetch: the result is posted as its link.
    poll: () => Promise.resolve({ state: 'succeeded', videoUrl: 'http://127.0.0.1:1/v.mp4', nsfw: false }),
    cancel: () => Promise.resolve(),
    upload: () => Promise.resolve('http://127.0.0.1:1/upload.png'),
  };
  const delivery: Delivery = {
    openStatus: () => Promise.resolve({ statusChannelId: 'c', statusMessageId: 's', threadId: 'c' }),
    showStatus: () => Promise.resolve(),
    isAgeRestricted: () => Promise.resolve(false),
    postResult: (job) => {
      posted.push(job.id);
      return Promise.resolve({ messageId: `m${posted.length}` });
    },
    findPost: () => Promise.resolve(undefined),
    offerRerun: () => Promise.resolve(),
    postFailure: () => Promise.resolve(),
    tellPrivately: () => Promise.resolve(true),
  };
  const http = createHttp();
  const ledger = createLedger({ keyv, startingCredits });
  const jobs = createJobStore(keyv);
  const boot = (): Engine =>
    createEngine({
      settings: {
        ...ENGINE_DEFAULTS,
        expectedRunMs: { 'wavespeed/ray-2-flash': 20, 'wavespeed/ray-2': 20, 'fal/ray-2-flash': 20 },
        jobDeadlineMs: 60_000,
        outputMaxBytes: 1024,
        outputDownloadTimeoutMs: 500,
        deliveryAttempts: 0,
        maxActivePerMember: 2,
        providerCaps: {},
        failover: false,
        nsfwPolicy: 'spoiler',
      },
      log: pino({ level: 'silent' }),
      ledger,
      jobs,
      providers: new Map([['wavespeed/ray-2-flash', provider]]),
      http,
      delivery,
      clock: systemClock,
    });
  const accept = (engine: Engine, prompt = 'a cat'): Promise<AcceptResult> =>
    engine.accept({
      userId: 'ann',
      guildId: null,
      channelId: 'c',
      attachmentSizeLimit: 1024,
      request: { model: 'wavespeed/ray-2-flash', prompt, aspectRatio: '16:9', durationSeconds: 5 },
      image: {
        sourceUrl: image.url,
        bytes: new Uint8Array([1]),
        contentType: 'image/png',
        extension: 'png',
      },
    });
  return {
    submits,
    posted,
    ledger,
    jobs,
    boot,
    accept,
    close: () => Promise.all([http.close(), image.close()]),
  };
}

type World = Awaited<ReturnType<typeof world>>;

async function settled(w: World, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while ((await w.jobs.listOpen()).length > 0) {
    if (Date.now() > end) throw new Error(`still open: ${JSON.stringify(await w.jobs.listOpen())}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Accepts one job with the n-th store write failing; says what the member was told. */
async function acceptFailingAt(w: World, map: FailingMap, engine: Engine, n: number) {
  map.failAt = map.writes + n;
  const told = await w.accept(engine).then(
    (r) => (r.ok ? 'accepted' : 'refused'),
    () => 'error: nothing was charged',
  );
  map.failAt = Infinity;
  return told;
}

/** The writes one accept makes with nothing failing (record, index, hold, state). */
const ACCEPT_WRITES = 5;

describe('acceptance is all or nothing', () => {
  for (const restart of [false, true]) {
    for (let n = 1; n <= ACCEPT_WRITES; n++) {
      it(`store write ${n} of the acceptance fails, ${restart ? 'then the bot restarts' : 'the same process carries on'}`, async () => {
        const map = new FailingMap();
        const w = await world(map);
        try {
          let engine = w.boot();
          const told = await acceptFailingAt(w, map, engine, n);
          if (restart) {
            await engine.stop();
            engine = w.boot();
            await engine.resume();
          }
          await settled(w);
          await engine.stop();
          const balance = await w.ledger.balance('ann');
          const { entries } = await w.ledger.statement('ann', 10);
          expect(entries.filter((e) => e.state === 'held')).toEqual([]);
          if (told === 'accepted') {
            expect(w.submits).toHaveLength(1);
            expect(w.posted).toHaveLength(1);
            expect(balance).toBe(80);
          } else {
            // The member read "nothing was charged": so it must be.
            expect(told).toBe('error: nothing was charged');
            expect(w.submits).toHaveLength(0);
            expect(balance).toBe(100);
          }
        } finally {
          await w.close();
        }
      });
    }
  }

  it('a refused hold whose refunded record cannot be written leaves no job that charges later', async () => {
    const map = new FailingMap();
    const w = await world(map, 10); // 10 credits: the 20-credit job is refused
    try {
      const engine = w.boot();
      // Writes: index, record (accepting), then the refused hold writes nothing, then the
      // refunded record: that one fails.
      map.failAt = map.writes + 3;
      const result = await w.accept(engine);
      map.failAt = Infinity;
      expect(result.ok).toBe(false);
      await engine.stop();
      const again = w.boot();
      await again.resume();
      await settled(w);
      await again.stop();
      expect(w.submits).toHaveLength(0);
      expect(await w.ledger.balance('ann')).toBe(10);
    } finally {
      await w.close();
    }
  });
});
