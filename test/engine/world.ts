// The engine with in-memory collaborators for tests: a store whose writes can be made to fail,
// a provider and a Delivery written for the test (each step overridable), and a loopback server
// for the input image, so a restarted engine can fetch it again.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Keyv from 'keyv';
import { pino } from 'pino';
import { systemClock } from '../../src/engine/clock.js';
import { ENGINE_DEFAULTS, type EngineDeps, type EngineSettings } from '../../src/engine/context.js';
import type { Delivery } from '../../src/engine/delivery.js';
import { createEngine, type AcceptResult, type Engine } from '../../src/engine/engine.js';
import { createHttp } from '../../src/net/http.js';
import type { Telemetry } from '../../src/engine/telemetry.js';
import type { VideoProvider } from '../../src/providers/types.js';
import { createJobStore } from '../../src/store/jobs.js';
import type { Economy } from '../../src/store/economy.js';
import { createKeyvEconomy } from '../../src/store/economy-keyv.js';

/** A Keyv store (a Map) whose writes fail from the `failAt`-th one on, `failFor` times. */
export class FailingMap extends Map<string, unknown> {
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

async function imageServer() {
  let alive = true;
  const server = createServer((_req, res) => {
    if (alive) res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.from([1]));
    else res.writeHead(404).end();
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/in.png`,
    /** Discord's URL expires: it answers 404 from now on. */
    expire: () => (alive = false),
    close: () => new Promise((res) => server.close(res)),
  };
}

export interface EngineWorldOptions {
  startingCredits?: number;
  settings?: Partial<EngineSettings>;
  provider?: Partial<VideoProvider>;
  delivery?: Partial<Delivery>;
  telemetry?: Telemetry;
}

export async function engineWorld(opts: EngineWorldOptions = {}) {
  const map = new FailingMap();
  const keyv = new Keyv({ store: map, throwOnErrors: true });
  const image = await imageServer();
  const submits: { prompt: string; imageUrl: string }[] = [];
  const posted: string[] = [];
  const failures: string[] = [];
  const provider: VideoProvider = {
    provider: 'wavespeed',
    endpoint: 'luma/ray-2-flash-i2v',
    submit: (request) => {
      submits.push({ prompt: request.prompt, imageUrl: request.imageUrl });
      return Promise.resolve({ id: `task-${submits.length}` });
    },
    // No video to fetch: the result is posted as its link.
    poll: () => Promise.resolve({ state: 'succeeded', videoUrl: 'http://127.0.0.1:1/v.mp4', nsfw: false }),
    cancel: () => Promise.resolve(),
    upload: () => Promise.resolve('http://127.0.0.1:1/upload.png'),
    ...opts.provider,
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
    postFailure: (_job, text) => {
      failures.push(text);
      return Promise.resolve();
    },
    tellPrivately: () => Promise.resolve(true),
    ...opts.delivery,
  };
  const http = createHttp();
  // A fresh economy per boot, as a restarted process has: nothing carried over but the store.
  const newEconomy = () => createKeyvEconomy({ keyv, startingCredits: opts.startingCredits ?? 100 });
  let economy: Economy = newEconomy();
  const jobs = createJobStore(keyv);
  /** A fresh engine on the same store; `extra` overrides its dependencies (e.g. `owns`). */
  const boot = (extra: Partial<EngineDeps> = {}): Engine => {
    economy = newEconomy();
    return createEngine({
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
        creditsScope: 'guild',
        ...opts.settings,
      },
      log: pino({ level: 'silent' }),
      economy,
      policy: () => Promise.resolve({}),
      jobs,
      providers: new Map([['wavespeed/ray-2-flash', provider]]),
      http,
      delivery,
      clock: systemClock,
      ...(opts.telemetry ? { telemetry: opts.telemetry } : {}),
      ...extra,
    });
  };
  const requester = { userId: 'ann', guildId: null, channelId: 'c', attachmentSizeLimit: 1024 };
  const accept = (
    engine: Engine,
    prompt = 'a cat',
    where: Partial<typeof requester> | { guildId: string } = {},
  ): Promise<AcceptResult> =>
    engine.accept({
      ...requester,
      ...where,
      request: { model: 'wavespeed/ray-2-flash', prompt, aspectRatio: '16:9', durationSeconds: 5 },
      image: { sourceUrl: image.url, bytes: new Uint8Array([1]), contentType: 'image/png', extension: 'png' },
    });

  /** Waits until no job is open. */
  async function settled(ms = 8000): Promise<void> {
    const end = Date.now() + ms;
    while ((await jobs.listOpen()).length > 0) {
      if (Date.now() > end) throw new Error(`still open: ${JSON.stringify(await jobs.listOpen())}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Lets `engine` (or, with `restart`, a fresh engine on the same store) finish every open job. */
  async function finish(engine: Engine, restart: boolean): Promise<void> {
    if (restart) {
      await engine.stop();
      engine = boot();
      await engine.resume();
    }
    await settled();
    await engine.stop();
  }

  return {
    finish,
    map,
    image,
    submits,
    posted,
    failures,
    /** The member's free balance (a DM requester: scope `dm`), read from the store as a restart would. */
    balance: async (userId = 'ann') => (await newEconomy().wallet({ scope: 'dm', userId })).free,
    /** Whether any of the member's credits are still held. */
    held: async (userId = 'ann') => (await newEconomy().wallet({ scope: 'dm', userId })).held,
    economy: () => economy,
    jobs,
    requester,
    boot,
    accept,
    settled,
    close: () => Promise.all([http.close(), image.close()]),
  };
}

export type EngineWorld = Awaited<ReturnType<typeof engineWorld>>;
