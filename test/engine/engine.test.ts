// The engine with in-memory collaborators: a provider and a Delivery written for the test, so
// interleavings that are hard to reach through Discord can be forced exactly.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Keyv from 'keyv';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/engine/clock.js';
import { ENGINE_DEFAULTS } from '../../src/engine/context.js';
import type { Delivery } from '../../src/engine/delivery.js';
import { createEngine, type Engine } from '../../src/engine/engine.js';
import { createHttp } from '../../src/net/http.js';
import type { VideoProvider } from '../../src/providers/types.js';
import { createJobStore } from '../../src/store/jobs.js';
import { createKeyvEconomy } from '../../src/store/economy-keyv.js';

function gate() {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((res) => (open = res));
  return { opened, open };
}

async function videoServer() {
  const server = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': 3 }).end(Buffer.from('mp4')),
  );
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/video.mp4`, close: () => new Promise((res) => server.close(res)) };
}

type AcceptInput = Parameters<Engine['accept']>[0];

async function setup(opts: {
  maxActivePerMember: number;
  holdStatusOf?: (prompt: string) => Promise<void>;
  providerCaps?: { wavespeed?: number };
  mediaMemoryBytes?: number;
  /** How long each result post takes. */
  postMs?: number;
  startingCredits?: number;
}) {
  const video = await videoServer();
  const submits: string[] = [];
  const posted: string[] = [];
  /** Jobs submitted and not yet posted, and the most there ever were at once. */
  const inFlight = new Set<string>();
  let mostInFlight = 0;
  /** Video bytes handed to postResult and not yet posted, and the most at once. */
  let heldBytes = 0;
  let mostBytesHeld = 0;
  const provider: VideoProvider = {
    provider: 'wavespeed',
    endpoint: 'luma/ray-2-flash-i2v',
    submit: (request) => {
      submits.push(request.prompt);
      inFlight.add(request.prompt);
      mostInFlight = Math.max(mostInFlight, inFlight.size);
      return Promise.resolve({ id: `task-${submits.length}` });
    },
    poll: () => Promise.resolve({ state: 'succeeded', videoUrl: video.url, nsfw: false }),
    cancel: () => Promise.resolve(),
    upload: () => Promise.resolve('http://127.0.0.1:1/upload.png'),
  };
  let statusSeq = 0;
  const statusPosts: string[] = [];
  const delivery: Delivery = {
    openStatus: async (job) => {
      statusPosts.push(job.request.prompt);
      await opts.holdStatusOf?.(job.request.prompt);
      return { statusChannelId: 'c', statusMessageId: `s${++statusSeq}`, threadId: 'c' };
    },
    showStatus: () => Promise.resolve(),
    isAgeRestricted: () => Promise.resolve(false),
    postResult: async (job, video) => {
      inFlight.delete(job.request.prompt);
      heldBytes += video.bytes?.byteLength ?? 0;
      mostBytesHeld = Math.max(mostBytesHeld, heldBytes);
      await new Promise((r) => setTimeout(r, opts.postMs ?? 0));
      heldBytes -= video.bytes?.byteLength ?? 0;
      posted.push(job.request.prompt);
      return { messageId: `m${posted.length}` };
    },
    findPost: () => Promise.resolve(undefined),
    offerRerun: () => Promise.resolve(),
    postFailure: () => Promise.resolve(),
    tellPrivately: () => Promise.resolve(true),
  };
  const keyv = new Keyv();
  const http = createHttp();
  const engine = createEngine({
    settings: {
      ...ENGINE_DEFAULTS,
      expectedRunMs: { 'wavespeed/ray-2-flash': 40, 'wavespeed/ray-2': 40, 'fal/ray-2-flash': 40 },
      jobDeadlineMs: 60_000,
      outputMaxBytes: 1024,
      outputDownloadTimeoutMs: 1000,
      maxActivePerMember: opts.maxActivePerMember,
      providerCaps: opts.providerCaps ?? {},
      failover: false,
      nsfwPolicy: 'spoiler',
      creditsScope: 'guild',
      ...(opts.mediaMemoryBytes ? { mediaMemoryBytes: opts.mediaMemoryBytes } : {}),
    },
    log: pino({ level: 'silent' }),
    economy: createKeyvEconomy({ keyv, startingCredits: opts.startingCredits ?? 100 }),
    policy: () => Promise.resolve({}),
    jobs: createJobStore(keyv),
    providers: new Map([['wavespeed/ray-2-flash', provider]]),
    http,
    delivery,
    clock: systemClock,
  });
  const input = (prompt: string, userId = 'ann'): AcceptInput => ({
    userId,
    guildId: null,
    channelId: 'c',
    attachmentSizeLimit: 1024,
    request: { model: 'wavespeed/ray-2-flash', prompt, aspectRatio: '16:9', durationSeconds: 5 },
    image: {
      sourceUrl: 'http://127.0.0.1:1/in.png',
      bytes: new Uint8Array([1]),
      contentType: 'image/png',
      extension: 'png',
    },
  });
  return {
    engine,
    submits,
    posted,
    statusPosts,
    mostInFlight: () => mostInFlight,
    mostBytesHeld: () => mostBytesHeld,
    keyv,
    input,
    close: () => Promise.all([engine.stop(), http.close(), video.close()]),
  };
}

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('engine', () => {
  it('starts a waiting job whose status post is still in flight when its turn comes, exactly once', async () => {
    const held = gate();
    const t = await setup({
      maxActivePerMember: 1,
      holdStatusOf: (p) => (p === 'second' ? held.opened : Promise.resolve()),
    });
    try {
      expect((await t.engine.accept(t.input('first'))).ok).toBe(true);
      const second = await t.engine.accept(t.input('second'));
      expect(second.ok && second.job.state).toBe('waiting');
      // The first job finishes (and frees the slot) while the second's status post hangs.
      await until(() => t.posted.includes('first'));
      await new Promise((r) => setTimeout(r, 50));
      held.open();
      await until(() => t.posted.includes('second'));
      expect(t.submits).toEqual(['first', 'second']);
      expect(t.posted).toEqual(['first', 'second']);
      // One status message per job: the promotion waited for the status post in flight.
      expect([...t.statusPosts].sort()).toEqual(['first', 'second']);
    } finally {
      await t.close();
    }
  });

  it('keeps what it learned about run times across a restart (saved on stop)', async () => {
    const t = await setup({ maxActivePerMember: 1 });
    try {
      await t.engine.accept(t.input('only'));
      await until(() => t.posted.includes('only'));
      await new Promise((r) => setTimeout(r, 20));
    } finally {
      await t.close();
    }
    const saved = await t.keyv.get<Record<string, { count: number }>>('meta:run-times');
    expect(saved?.['wavespeed/ray-2-flash']?.count).toBe(1);
  });

  it('submits each of many concurrent jobs once and delivers each once', async () => {
    const t = await setup({ maxActivePerMember: 3 });
    try {
      const prompts = Array.from({ length: 12 }, (_, i) => `job${i}`);
      const accepted = await Promise.all(prompts.map((p) => t.engine.accept(t.input(p))));
      // 100 credits, 20 each: five fit.
      expect(accepted.filter((a) => a.ok)).toHaveLength(5);
      await until(() => t.posted.length === 5);
      await new Promise((r) => setTimeout(r, 100));
      expect([...t.submits].sort()).toEqual([...new Set(t.submits)].sort());
      expect(t.submits).toHaveLength(5);
      expect(t.posted).toHaveLength(5);
    } finally {
      await t.close();
    }
  });

  it('never runs more than a member’s limit, however many requests arrive at once', async () => {
    const t = await setup({ maxActivePerMember: 1, startingCredits: 1000 });
    try {
      const prompts = Array.from({ length: 10 }, (_, i) => `job${i}`);
      const accepted = await Promise.all(prompts.map((p) => t.engine.accept(t.input(p))));
      expect(accepted.every((a) => a.ok)).toBe(true);
      await until(() => t.posted.length === 10, 10_000);
      expect(t.mostInFlight()).toBe(1);
      expect([...t.posted].sort()).toEqual([...prompts].sort());
      expect(t.submits).toEqual(t.posted);
    } finally {
      await t.close();
    }
  });

  it('never runs more than a provider cap, however many members ask at once', async () => {
    const t = await setup({ maxActivePerMember: 5, providerCaps: { wavespeed: 1 }, startingCredits: 1000 });
    try {
      const members = Array.from({ length: 10 }, (_, i) => `member${i}`);
      const accepted = await Promise.all(members.map((m) => t.engine.accept(t.input(m, m))));
      expect(accepted.every((a) => a.ok)).toBe(true);
      await until(() => t.posted.length === 10, 10_000);
      expect(t.mostInFlight()).toBe(1);
      expect([...t.posted].sort()).toEqual([...members].sort());
    } finally {
      await t.close();
    }
  });

  it('holds no more video bytes at once than the media budget: deliveries wait their turn', async () => {
    // Each video is 3 bytes; a budget of 6 lets two be held at once.
    const t = await setup({ maxActivePerMember: 8, startingCredits: 1000, mediaMemoryBytes: 6, postMs: 30 });
    try {
      const prompts = Array.from({ length: 8 }, (_, i) => `job${i}`);
      await Promise.all(prompts.map((p) => t.engine.accept(t.input(p))));
      await until(() => t.posted.length === 8, 10_000);
      expect(t.mostBytesHeld()).toBe(6);
    } finally {
      await t.close();
    }
    // The same burst with room for all: every video is held at once.
    const roomy = await setup({ maxActivePerMember: 8, startingCredits: 1000, postMs: 300 });
    try {
      await Promise.all(Array.from({ length: 8 }, (_, i) => roomy.engine.accept(roomy.input(`job${i}`))));
      await until(() => roomy.posted.length === 8, 10_000);
      expect(roomy.mostBytesHeld()).toBe(24);
    } finally {
      await roomy.close();
    }
  });
});
