// The metrics module: Telemetry calls become the contract's counters and the histograms, gauges
// are read from their sources at each scrape, the ledger audit runs on its timer (not per scrape),
// and each bot has its own registry.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { EngineStats } from '../../src/engine/engine.js';
import { createMetrics, type Metrics } from '../../src/ops/metrics.js';
import type { Economy } from '../../src/store/economy.js';

const log = pino({ level: 'silent' });
const made: Metrics[] = [];
function metrics(opts: { auditEveryMs?: number } = {}): Metrics {
  const m = createMetrics({ log, processMetrics: false, ...opts });
  made.push(m);
  return m;
}
afterEach(async () => {
  await Promise.all(made.splice(0).map((m) => m.stop()));
});

/** The value of one sample line, e.g. `animate_jobs_total{model="…",outcome="…"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const noJobs = (): EngineStats => ({ states: {}, waiting: 0 });
const noDrift: Economy['audit'] = () => Promise.resolve([]);

describe('metrics', () => {
  it('counts what the engine and the providers tell it, under the contract names and labels', async () => {
    const m = metrics();
    const t = m.telemetry;
    t.providerRequest({ provider: 'wavespeed', op: 'submit', status: 200, seconds: 0.12 });
    t.providerRequest({ provider: 'wavespeed', op: 'poll', status: 200, seconds: 0.01 });
    t.providerRequest({ provider: 'wavespeed', op: 'poll', status: 200, seconds: 0.02 });
    t.providerRequest({ provider: 'fal', op: 'submit', status: 'error', seconds: 0.3 });
    t.statusPoll('wavespeed');
    t.statusPoll('wavespeed');
    t.videoReady({ model: 'wavespeed/ray-2-flash', polls: 2, runSeconds: 41 });
    t.delivered('upload');
    t.creditsSpent(20);
    t.creditsSpent(5);
    t.jobEnded({ model: 'wavespeed/ray-2-flash', outcome: 'delivered' });
    t.jobEnded({ model: 'fal/ray-2-flash', outcome: 'failed', failure: 'provider_down' });
    t.jobEnded({ model: 'fal/ray-2-flash', outcome: 'cancelled', failure: 'cancelled' });
    const text = await m.text();

    expect(sample(text, 'animate_jobs_total{model="wavespeed/ray-2-flash",outcome="delivered"}')).toBe(1);
    expect(sample(text, 'animate_jobs_total{model="fal/ray-2-flash",outcome="failed"}')).toBe(1);
    expect(sample(text, 'animate_jobs_total{model="fal/ray-2-flash",outcome="cancelled"}')).toBe(1);
    expect(sample(text, 'animate_jobs_total{model="wavespeed/ray-2",outcome="delivered"}')).toBe(0);
    expect(sample(text, 'animate_job_failures_total{code="provider_down"}')).toBe(1);
    expect(sample(text, 'animate_provider_requests_total{provider="wavespeed",op="poll",status="200"}')).toBe(
      2,
    );
    expect(sample(text, 'animate_provider_requests_total{provider="fal",op="submit",status="error"}')).toBe(
      1,
    );
    expect(
      sample(text, 'animate_provider_request_duration_seconds_count{provider="wavespeed",op="poll"}'),
    ).toBe(2);
    expect(
      sample(
        text,
        'animate_provider_request_duration_seconds_bucket{le="0.25",provider="wavespeed",op="submit"}',
      ),
    ).toBe(1);
    expect(sample(text, 'animate_status_polls_total{provider="wavespeed"}')).toBe(2);
    expect(sample(text, 'animate_status_polls_total{provider="fal"}')).toBe(0);
    expect(sample(text, 'animate_job_polls_sum{model="wavespeed/ray-2-flash"}')).toBe(2);
    expect(sample(text, 'animate_job_run_seconds_sum{model="wavespeed/ray-2-flash"}')).toBe(41);
    expect(sample(text, 'animate_credits_spent_total')).toBe(25);
    expect(sample(text, 'animate_delivery_total{placement="upload"}')).toBe(1);
    expect(sample(text, 'animate_delivery_total{placement="link"}')).toBe(0);
    expect(text).toContain('# TYPE animate_jobs_total counter');
    expect(text).toContain('# TYPE animate_jobs_active gauge');
  });

  it('reads the open jobs and the line at each scrape', async () => {
    const m = metrics();
    let stats: EngineStats = { states: { submitted: 2, waiting: 1 }, waiting: 1 };
    m.watch({ jobs: () => stats, audit: noDrift });
    let text = await m.text();
    expect(sample(text, 'animate_jobs_active{state="submitted"}')).toBe(2);
    expect(sample(text, 'animate_jobs_active{state="waiting"}')).toBe(1);
    expect(sample(text, 'animate_jobs_active{state="delivering"}')).toBe(0);
    expect(sample(text, 'animate_jobs_active{state="delivered"}')).toBeUndefined();
    expect(sample(text, 'animate_queue_length')).toBe(1);
    stats = { states: {}, waiting: 0 };
    text = await m.text();
    expect(sample(text, 'animate_jobs_active{state="submitted"}')).toBe(0);
    expect(sample(text, 'animate_queue_length')).toBe(0);
  });

  it('audits the ledger when watching starts and then on its timer, never per scrape', async () => {
    const m = metrics({ auditEveryMs: 60_000 });
    expect(sample(await m.text(), 'animate_ledger_drift_accounts')).toBeNaN();
    let audits = 0;
    const drift = [{ account: { scope: 'g', userId: 'u' }, free: 5, sum: 4, held: 0, holds: 0 }];
    m.watch({
      jobs: noJobs,
      audit: () => {
        audits += 1;
        return Promise.resolve(drift);
      },
    });
    await new Promise((r) => setTimeout(r, 10));
    for (let i = 0; i < 3; i++) await m.text();
    const text = await m.text();
    expect(audits).toBe(1);
    expect(sample(text, 'animate_ledger_drift_accounts')).toBe(1);
    expect(sample(text, 'animate_ledger_audit_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(sample(text, 'animate_ledger_audit_duration_seconds')).toBeGreaterThanOrEqual(0);
  });

  it('a failed audit keeps the last value; stop waits for an audit in flight', async () => {
    const m = metrics({ auditEveryMs: 20 });
    let calls = 0;
    let finish: (() => void) | undefined;
    m.watch({
      jobs: noJobs,
      audit: () => {
        calls += 1;
        if (calls === 1) return Promise.resolve([]);
        if (calls === 2) return Promise.reject(new Error('store down'));
        return new Promise((resolve) => (finish = () => resolve([])));
      },
    });
    while (calls < 3) await new Promise((r) => setTimeout(r, 5));
    expect(sample(await m.text(), 'animate_ledger_drift_accounts')).toBe(0);
    let stopped = false;
    const stopping = m.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(stopped).toBe(false);
    finish?.();
    await stopping;
    expect(calls).toBe(3);
  });

  it('a call prom-client refuses costs the number, never a throw into the engine', async () => {
    const m = metrics();
    expect(() => m.telemetry.creditsSpent(-5)).not.toThrow(); // counters cannot go down
    m.telemetry.creditsSpent(3);
    expect(sample(await m.text(), 'animate_credits_spent_total')).toBe(3);
  });

  it('two bots in one process keep their own numbers', async () => {
    const a = metrics();
    const b = metrics();
    a.telemetry.creditsSpent(7);
    expect(sample(await a.text(), 'animate_credits_spent_total')).toBe(7);
    expect(sample(await b.text(), 'animate_credits_spent_total')).toBe(0);
  });

  it('includes Node process metrics unless told not to', async () => {
    const m = createMetrics({ log });
    made.push(m);
    expect(await m.text()).toContain('process_cpu_user_seconds_total');
    expect(await metrics().text()).not.toContain('process_cpu_user_seconds_total');
  });
});
