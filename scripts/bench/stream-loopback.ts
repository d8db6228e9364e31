// The status stream measured end to end on loopback, for `npm run bench:poll`: the real engine
// and fal client against the fake fal (test/fakes/fal.ts), `jobs` fal jobs at once. For each,
// the time from the fake marking the request COMPLETED to the engine logging "video ready"
// (the stream's event received, the result fetched), and the status requests it took.
import Keyv from 'keyv';
import { pino } from 'pino';
import { systemClock } from '../../src/engine/clock.js';
import { createEngine } from '../../src/engine/engine.js';
import { createHttp } from '../../src/net/http.js';
import { createFalProvider } from '../../src/providers/fal.js';
import { createJobStore } from '../../src/store/jobs.js';
import { createKeyvEconomy } from '../../src/store/economy-keyv.js';
import { startFakeFal } from '../../test/fakes/fal.js';
import { benchRequest, benchSettings, benchSink, percentile } from './world.js';

export interface StreamLoopback {
  jobs: number;
  noticedP50Ms: number;
  noticedP99Ms: number;
  noticedMaxMs: number;
  streamsPerJob: number;
  statusPollsPerJob: number;
}

export async function measureStreamLoopback(jobs: number, runMs: number): Promise<StreamLoopback> {
  const fal = await startFakeFal({ apiKey: 'bench-key', runMs, queuedMs: 200 });
  const http = createHttp();
  const ready: { jobId: string; time: number }[] = [];
  const log = pino(
    { level: 'info', base: null },
    {
      write(line: string) {
        const parsed = JSON.parse(line) as { msg?: string; jobId?: string; time: number };
        if (parsed.msg === 'video ready' && parsed.jobId)
          ready.push({ jobId: parsed.jobId, time: parsed.time });
      },
    },
  );
  const store = new Keyv();
  const jobStore = createJobStore(store);
  const provider = createFalProvider({
    http,
    queueUrl: fal.queueUrl,
    storageUrl: fal.storageUrl,
    apiKey: 'bench-key',
  });
  let delivered = 0;
  const engine = createEngine({
    // The engine expects the fake's run time, as it would have learned it.
    settings: benchSettings(runMs + 200),
    log,
    economy: createKeyvEconomy({ keyv: store, startingCredits: 1_000_000 }),
    policy: () => Promise.resolve({}),
    jobs: jobStore,
    providers: new Map([['fal/ray-2-flash', provider]]),
    http,
    delivery: benchSink({
      postResult: () => Promise.resolve({ messageId: `m${++delivered}` }),
    }),
    clock: systemClock,
  });
  try {
    await Promise.all(
      Array.from({ length: jobs }, (_, i) => {
        const request = benchRequest(`member-${i}`, i, `${fal.storageUrl}/unused.png`);
        return engine.accept({ ...request, request: { ...request.request, model: 'fal/ray-2-flash' } });
      }),
    );
    const end = Date.now() + 60_000;
    while (delivered < jobs && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    if (delivered < jobs) throw new Error(`stream loopback: ${delivered} of ${jobs} delivered`);
    const noticed: number[] = [];
    for (const { jobId, time } of ready) {
      const requestId = (await jobStore.get(jobId))?.providerRef?.id;
      const completedAt = requestId === undefined ? undefined : fal.completedAt(requestId);
      if (completedAt !== undefined) noticed.push(time - completedAt);
    }
    return {
      jobs,
      noticedP50Ms: percentile(noticed, 50),
      noticedP99Ms: percentile(noticed, 99),
      noticedMaxMs: Math.max(...noticed),
      streamsPerJob: fal.streams.length / jobs,
      statusPollsPerJob: fal.statusPolls.length / jobs,
    };
  } finally {
    await engine.stop();
    await http.close();
    await fal.close();
  }
}
