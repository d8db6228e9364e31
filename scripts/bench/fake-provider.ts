// A fake WaveSpeed in its own process for bench:load, so the bot's memory is measured alone.
// Run times are log-normal around RUN_MS (cv 0.25), one per task; prints its base URL.
import { startFakeWaveSpeed } from '../../test/fakes/wavespeed.js';

const jobs = Number(process.env.JOBS ?? 1000);
const runMs = Number(process.env.RUN_MS ?? 3000);
const fake = await startFakeWaveSpeed({ apiKey: 'bench-key', runMs, queuedMs: 100 });

// Seeded so every run sees the same workload.
let seed = 42;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) + 1) / (2 ** 31 + 1);
const sigma = Math.sqrt(Math.log(1 + 0.25 ** 2));
for (let i = 0; i < jobs; i++) {
  const normal = Math.sqrt(-2 * Math.log(random())) * Math.cos(2 * Math.PI * random());
  fake.nextOutcome({ runMs: Math.round(runMs * Math.exp(sigma * normal - (sigma * sigma) / 2)) });
}
process.stdout.write(`${JSON.stringify({ baseUrl: fake.baseUrl })}\n`);
process.on('SIGTERM', () => void fake.close().then(() => process.exit(0)));
