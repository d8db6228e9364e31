// The bot's Prometheus metrics with prom-client: the engine's Telemetry turned into counters and
// histograms, gauges read from the engine at each scrape, and the ledger's drift from an audit run
// on a timer. Each bot has its own Registry (never prom-client's global one), so tests and several
// bots in one process do not collide. What each metric means: docs/operations.md.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EngineStats } from '../engine/engine.js';
import type { JobOutcome, Placement, Telemetry } from '../engine/telemetry.js';
import type { Logger } from '../logger.js';
import { MODEL_IDS } from '../providers/catalog.js';
import type { ProviderId } from '../providers/types.js';
import type { Economy } from '../store/economy.js';
import { JOB_STATES, TERMINAL_STATES } from '../store/jobs.js';

export const METRICS_DEFAULTS = {
  /**
   * How often the ledger is audited. The audit reads every entry of every account (archives
   * included) and takes each account's lock in turn: far too much for every scrape, and drift
   * is a bug to notice within minutes, not a rate to watch.
   */
  auditEveryMs: 15 * 60_000,
} as const;

/** What the gauges are read from, once the engine and the economy exist. */
export interface MetricSources {
  /** Open jobs by state and the line's length, read at each scrape. */
  jobs(): EngineStats;
  /** The economy's drift check: the accounts whose entries disagree with their balances. */
  audit: Economy['audit'];
}

export interface Metrics {
  readonly telemetry: Telemetry;
  readonly registry: Registry;
  /** The Content-Type of `text()`. */
  readonly contentType: string;
  /** Starts reading the sources: gauges at each scrape, the audit now and then every `auditEveryMs`. */
  watch(sources: MetricSources): void;
  /** The Prometheus text exposition. */
  text(): Promise<string>;
  /** Stops the audit timer and waits for an audit in flight (call before the store closes). */
  stop(): Promise<void>;
}

export interface MetricsOptions {
  log: Logger;
  auditEveryMs?: number;
  /** Node's process metrics (CPU, memory, event loop lag, GC); on by default. */
  processMetrics?: boolean;
}

const PROVIDERS: readonly ProviderId[] = ['wavespeed', 'fal'];
const OUTCOMES: readonly JobOutcome[] = ['delivered', 'cancelled', 'failed'];
const PLACEMENTS: readonly Placement[] = ['upload', 'link'];
const OPEN_STATES = JOB_STATES.filter((s) => !TERMINAL_STATES.has(s));

export function createMetrics(opts: MetricsOptions): Metrics {
  const { log } = opts;
  const registry = new Registry();
  const registers = [registry];
  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry });

  const jobs = new Counter({
    name: 'animate_jobs_total',
    help: 'Jobs that ended, by the model that ran them and how they ended (delivered, cancelled, failed).',
    labelNames: ['model', 'outcome'] as const,
    registers,
  });
  const failures = new Counter({
    name: 'animate_job_failures_total',
    help: 'Jobs that ended refunded, by failure code (cancelled included).',
    labelNames: ['code'] as const,
    registers,
  });
  const requests = new Counter({
    name: 'animate_provider_requests_total',
    help: 'HTTP requests to the providers, by provider, op (submit, poll, result, upload, cancel, enhance, enhance_poll) and HTTP status (or error when no answer came).',
    labelNames: ['provider', 'op', 'status'] as const,
    registers,
  });
  const latency = new Histogram({
    name: 'animate_provider_request_duration_seconds',
    help: 'Time from sending a provider request to having its whole answer, by provider and op.',
    labelNames: ['provider', 'op'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  const polls = new Counter({
    name: 'animate_status_polls_total',
    help: 'Status checks of submitted jobs, by provider (a fal check may be two requests: status, then result).',
    labelNames: ['provider'] as const,
    registers,
  });
  const pollsPerJob = new Histogram({
    name: 'animate_job_polls',
    help: 'Status checks a job took until its video was ready, by model.',
    labelNames: ['model'] as const,
    buckets: [1, 2, 3, 4, 6, 8, 12, 16, 24, 32],
    registers,
  });
  const runTime = new Histogram({
    name: 'animate_job_run_seconds',
    help: 'Time from the submit to the provider saying the video is ready, by model.',
    labelNames: ['model'] as const,
    buckets: [10, 20, 30, 45, 60, 90, 120, 180, 300, 600],
    registers,
  });
  const spent = new Counter({
    name: 'animate_credits_spent_total',
    help: 'Credits spent: holds committed on delivery (refunded holds are not counted).',
    registers,
  });
  const deliveries = new Counter({
    name: 'animate_delivery_total',
    help: 'Results posted, by placement: upload (the mp4 attached) or link (its URL).',
    labelNames: ['placement'] as const,
    registers,
  });

  // Series that exist from the start read 0 instead of being absent (rate() and alerts need them).
  for (const model of MODEL_IDS) for (const outcome of OUTCOMES) jobs.inc({ model, outcome }, 0);
  for (const provider of PROVIDERS) polls.inc({ provider }, 0);
  for (const placement of PLACEMENTS) deliveries.inc({ placement }, 0);

  let sources: MetricSources | undefined;
  new Gauge({
    name: 'animate_jobs_active',
    help: 'Open jobs in this process, by state.',
    labelNames: ['state'] as const,
    registers,
    collect() {
      if (!sources) return;
      const { states } = sources.jobs();
      for (const state of OPEN_STATES) this.set({ state }, states[state] ?? 0);
    },
  });
  new Gauge({
    name: 'animate_queue_length',
    help: "Jobs waiting for their turn (the member's limit, a provider's cap or the store's slots).",
    registers,
    collect() {
      if (sources) this.set(sources.jobs().waiting);
    },
  });

  /** The last audit: drift found, when it finished, how long it took. NaN drift until one has run. */
  let audited: { drift: number; at: number; seconds: number } | undefined;
  new Gauge({
    name: 'animate_ledger_drift_accounts',
    help: 'Accounts whose ledger entries disagree with their balances at the last audit; should stay 0 (NaN until the first audit).',
    registers,
    collect() {
      this.set(audited?.drift ?? Number.NaN);
    },
  });
  new Gauge({
    name: 'animate_ledger_audit_timestamp_seconds',
    help: 'When the last ledger audit finished (Unix time; 0 before the first).',
    registers,
    collect() {
      this.set(audited ? audited.at / 1000 : 0);
    },
  });
  new Gauge({
    name: 'animate_ledger_audit_duration_seconds',
    help: 'How long the last ledger audit took (0 before the first).',
    registers,
    collect() {
      if (audited) this.set(audited.seconds);
    },
  });

  let auditing: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  function audit(): void {
    if (!sources || auditing) return;
    const run = sources.audit;
    const started = performance.now();
    auditing = run()
      .then((drift) => {
        audited = { drift: drift.length, at: Date.now(), seconds: (performance.now() - started) / 1000 };
        if (drift.length > 0)
          log.error({ accounts: drift.length, first: drift.slice(0, 5) }, 'ledger drift found by the audit');
        else log.debug({ ms: Math.round(audited.seconds * 1000) }, 'ledger audit: no drift');
      })
      .catch((error: unknown) =>
        log.warn({ err: error }, 'ledger audit failed; the drift gauge keeps its value'),
      )
      .finally(() => (auditing = undefined));
  }

  // The engine calls these in the middle of a job's steps: a metrics bug must cost a number, never
  // a job (a throw in `jobEnded` would leave the job's running slot taken).
  const guard =
    <A extends unknown[]>(name: keyof Telemetry, count: (...args: A) => void) =>
    (...args: A): void => {
      try {
        count(...args);
      } catch (error) {
        log.warn({ err: error, metric: name }, 'could not count a metric');
      }
    };
  const telemetry: Telemetry = {
    providerRequest: guard('providerRequest', ({ provider, op, status, seconds }) => {
      requests.inc({ provider, op, status: String(status) });
      latency.observe({ provider, op }, seconds);
    }),
    jobEnded: guard('jobEnded', ({ model, outcome, failure }) => {
      jobs.inc({ model, outcome });
      if (failure !== undefined) failures.inc({ code: failure });
    }),
    statusPoll: guard('statusPoll', (provider) => polls.inc({ provider })),
    videoReady: guard('videoReady', ({ model, polls: n, runSeconds }) => {
      pollsPerJob.observe({ model }, n);
      runTime.observe({ model }, runSeconds);
    }),
    creditsSpent: guard('creditsSpent', (amount) => spent.inc(amount)),
    delivered: guard('delivered', (placement) => deliveries.inc({ placement })),
  };

  return {
    telemetry,
    registry,
    contentType: registry.contentType,
    watch(s) {
      sources = s;
      audit();
      timer = setInterval(audit, opts.auditEveryMs ?? METRICS_DEFAULTS.auditEveryMs);
      timer.unref();
    },
    text: () => registry.metrics(),
    async stop() {
      clearInterval(timer);
      sources = undefined;
      await auditing;
    },
  };
}
