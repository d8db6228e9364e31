// `npm run bench:deliver`: 200 jobs whose 8 MiB videos all finish at the same moment — the real
// engine, SQLite store, scheduler and WaveSpeed client against a fake WaveSpeed on 127.0.0.1 in
// its own process — delivered to a sink whose postResult uploads the bytes it is given to a
// loopback server, so every video really travels in and out. Prints figures, then one JSON line.
// `npm run bench:deliver` runs it twice: the 200-job burst, then one job alone (JOBS=1), whose
// latency is the figure for 'one 8 MiB video on loopback'.
//
// Latency is measured per job from the poll that saw "completed" to the upload finishing: the
// fake stamps the arrival of the first poll it answered "completed" for each task (and prints it),
// the sink stamps the moment the upload's answer came back; both are Date.now() on this machine,
// so the difference is the engine's own delivery path (download, hand-over, upload) plus the
// poll answer's trip back, with no clock skew to correct.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { createHttp } from '../src/net/http.js';
import { openStore } from '../src/store/keyv.js';
import {
  benchEngine,
  benchSink,
  benchRequest,
  MB,
  percentile,
  sampleRss,
  startFakeProvider,
} from './bench/world.js';

const JOBS = Number(process.env.JOBS ?? 200);
const RUN_MS = Number(process.env.RUN_MS ?? 3000);
const VIDEO_BYTES = Number(process.env.VIDEO_BYTES ?? 8 * MB);
/** The media budget the engine is meant to keep to (MEDIA_MEMORY_MB, default 256); for the goal line only. */
const BUDGET_MB = Number(process.env.MEDIA_MEMORY_MB ?? 256);

const fake = await startFakeProvider({
  JOBS: String(JOBS),
  RUN_MS: String(RUN_MS),
  VIDEO_BYTES: String(VIDEO_BYTES),
  FINISH_TOGETHER: '1',
  REPORT_COMPLETIONS: '1',
  SINK: '1',
});
const sinkUrl = fake.sinkUrl!;
const completedAt = new Map<string, number>();
let releasedAt: number | undefined;
fake.onLine((line) => {
  if (typeof line.completed === 'string' && typeof line.at === 'number')
    completedAt.set(line.completed, line.at);
  if (typeof line.released === 'number') releasedAt = line.released;
});

const dir = mkdtempSync(join(tmpdir(), 'animate-bench-deliver-'));
const store = await openStore(`sqlite://${join(dir, 'store.sqlite')}`, (e) => {
  throw e;
});
const http = createHttp();
// Discord's uploads go through their own client (discord.js REST), not the provider's pool.
const uploads = new Agent({ keepAliveTimeout: 30_000 });
const log = pino({ level: 'warn' });

const uploadedAt = new Map<string, number>();
let posts = 0;
let linkPosts = 0;
let uploadedBytes = 0;
let allDone: () => void = () => undefined;
const done = new Promise<void>((res) => (allDone = res));
const sink = benchSink({
  async postResult(job, video) {
    posts++;
    if (!video.bytes) linkPosts++;
    else {
      const res = await request(`${sinkUrl}/upload`, {
        method: 'POST',
        headers: { 'content-type': 'video/mp4' },
        body: video.bytes,
        dispatcher: uploads,
      });
      const answer = (await res.body.json()) as { bytes: number };
      if (answer.bytes !== video.bytes.length)
        throw new Error(`sink got ${answer.bytes} of ${video.bytes.length}`);
      uploadedBytes += answer.bytes;
    }
    const taskId = job.providerRef?.id;
    if (taskId && !uploadedAt.has(taskId)) uploadedAt.set(taskId, Date.now());
    if (uploadedAt.size === JOBS) allDone();
    return { messageId: `r${job.id}` };
  },
});
const { engine } = benchEngine({
  store: store.keyv,
  http,
  baseUrl: fake.baseUrl,
  delivery: sink,
  runMs: RUN_MS,
  log,
});

global.gc?.();
const rss = sampleRss(20);
const started = performance.now();
const accepted = await Promise.all(
  Array.from({ length: JOBS }, (_, i) => engine.accept(benchRequest(`user${i}`, i, `${sinkUrl}/input.png`))),
);
const timeout = setTimeout(() => allDone(), 180_000);
await done;
clearTimeout(timeout);
const lastUpload = Math.max(...uploadedAt.values());
const { peakGrowthBytes } = rss.stop();
const wallMs = performance.now() - started;

await engine.stop();
await http.close();
await uploads.close();
await store.close();
fake.stop();
rmSync(dir, { recursive: true, force: true });

const latencies: number[] = [];
for (const [taskId, at] of uploadedAt) {
  const seen = completedAt.get(taskId);
  if (seen !== undefined) latencies.push(at - seen);
}
const firstSeen = Math.min(...completedAt.values());
const figures = {
  bench: 'deliver',
  jobs: JOBS,
  videoMiB: +(VIDEO_BYTES / MB).toFixed(2),
  accepted: accepted.filter((r) => r.ok).length,
  delivered: uploadedAt.size,
  uploadedMiB: +(uploadedBytes / MB).toFixed(1),
  linkPosts,
  duplicatePosts: posts - uploadedAt.size,
  latencyP50Ms: percentile(latencies, 50),
  latencyP95Ms: percentile(latencies, 95),
  latencyMaxMs: percentile(latencies, 100),
  releaseToFirstCompletedPollMs: releasedAt === undefined ? null : firstSeen - releasedAt,
  releaseToLastUploadMs: releasedAt === undefined ? null : lastUpload - releasedAt,
  wallS: +(wallMs / 1000).toFixed(2),
  rssGrowthMB: +(peakGrowthBytes / MB).toFixed(1),
  goalRssGrowthMB: BUDGET_MB + 100,
};
process.stdout.write(
  [
    `jobs finishing together ${figures.jobs} × ${figures.videoMiB} MiB (fake WaveSpeed in its own process)`,
    `accepted / delivered    ${figures.accepted} / ${figures.delivered} (uploaded ${figures.uploadedMiB} MiB, posted as link: ${linkPosts}, duplicate posts: ${figures.duplicatePosts})`,
    `completed poll → upload p50 ${figures.latencyP50Ms} ms, p95 ${figures.latencyP95Ms} ms, max ${figures.latencyMaxMs} ms (goal p50 ≤ 1000 ms)`,
    `release → last upload   ${figures.releaseToLastUploadMs} ms (first completed poll after ${figures.releaseToFirstCompletedPollMs} ms)`,
    `peak RSS growth         ${figures.rssGrowthMB} MB (goal ≤ ${figures.goalRssGrowthMB} MB: budget ${BUDGET_MB} + 100)`,
    JSON.stringify(figures),
  ].join('\n') + '\n',
);
process.exit(figures.delivered === JOBS ? 0 : 1);
