// The terminal runner (docs/cli.md): one job through the bot's own engine and providers, with the
// bot's settings, but no Discord and no credits. The engine is built as the bot builds it; what
// differs is around it: a Delivery that writes the mp4 to a file, an in-memory store (the bot's
// store and its members' balances are never opened) whose economy always has room for the job,
// and a view that follows the job's writes on stderr.
import { resolve } from 'node:path';
import Keyv from 'keyv';
import { ConfigError, loadTerminalConfig, type TerminalConfig } from '../config.js';
import { systemClock } from '../engine/clock.js';
import { createEngine, type AnimateRequest, type Engine } from '../engine/engine.js';
import { engineSettingsFrom } from '../engine/settings-from-config.js';
import { failureMessage, isRefusal } from '../failures.js';
import { createLogger } from '../logger.js';
import { createHttp, type Http } from '../net/http.js';
import { promptOf } from '../engine/enhance.js';
import { createOptimizer, createProviders } from '../providers/registry.js';
import type { PromptOptimizer } from '../providers/types.js';
import { createKeyvEconomy } from '../store/economy-keyv.js';
import { createJobStore, TERMINAL_STATES, type JobRecord } from '../store/jobs.js';
import type { Store } from '../store/keyv.js';
import { parseRunnerArgs, USAGE } from './args.js';
import { InputError } from './input.js';
import { EXIT, exitCodeForJob, exitCodeForRefusal, jobFailureText, refusalText } from './outcome.js';
import { prepare, type Prepared } from './prepare.js';
import { createProgressView, type ProgressView } from './progress.js';
import { createTerminalDelivery } from './terminal-delivery.js';
import { watchJobs } from './watch-jobs.js';

export interface RunnerIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Whether stderr is a terminal: the bar there, plain lines otherwise. */
  tty: boolean;
  /** Where relative paths on the command line are resolved: the caller's directory. */
  cwd: string;
  /** The settings file, read as the bot reads it. */
  dotenvPath: string;
}

/** Who the engine thinks asked: nobody's balance, no server. */
const TERMINAL_USER = 'terminal';
/** The in-memory account's balance: far more than any price, so the one job always fits. */
const UNLIMITED_CREDITS = 1_000_000_000;
/** After an interrupt, how long the cancel at the provider may take before we leave anyway. */
const CANCEL_WAIT_MS = 5_000;
/** How long closing the engine and connections may take at the end. */
const CLOSE_WAIT_MS = 3_000;

/** Runs one job; resolves the exit code. `interrupted` aborts on Ctrl-C: the job is cancelled. */
export async function runAnimate(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  io: RunnerIo,
  interrupted: AbortSignal,
): Promise<number> {
  const say = (text: string) => void io.stderr.write(`animate: ${text}\n`);
  const parsed = parseRunnerArgs(argv);
  if (!parsed.ok) {
    say(parsed.problem);
    io.stderr.write(`${USAGE}\n`);
    return EXIT.badInput;
  }
  let config: TerminalConfig;
  try {
    config = loadTerminalConfig(env, io.dotenvPath);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    say(error.message);
    return EXIT.badInput;
  }

  const http = createHttp();
  try {
    // No webhooks: the runner has no listener, and a `.env` shared with the bot may well set
    // PUBLIC_URL (fal jobs follow the status stream instead; docs/push.md).
    const providers = createProviders({ ...config, PUBLIC_URL: undefined }, http);
    const optimizer = createOptimizer(config, http);
    let job: Prepared;
    try {
      job = await prepare(parsed.args, config, (id) => providers.has(id), io.cwd, optimizer !== undefined);
    } catch (error) {
      if (isRefusal(error)) {
        say(refusalText(error.failure));
        return exitCodeForRefusal(error.code);
      }
      if (!(error instanceof InputError)) throw error;
      say(error.message);
      return EXIT.badInput;
    }
    if (interrupted.aborted) {
      say('interrupted');
      return EXIT.interrupted;
    }
    return await runJob({ config, http, providers, optimizer, job, io, interrupted });
  } finally {
    await within(http.close(), CLOSE_WAIT_MS);
  }
}

interface JobRun {
  config: TerminalConfig;
  http: Http;
  providers: ReturnType<typeof createProviders>;
  optimizer: PromptOptimizer | undefined;
  job: Prepared;
  io: RunnerIo;
  interrupted: AbortSignal;
}

async function runJob({ config, http, providers, optimizer, job, io, interrupted }: JobRun): Promise<number> {
  const view: ProgressView = createProgressView({
    stream: io.stderr,
    tty: io.tty,
    // Called only once the job is written, by which time the engine exists.
    finishAt: (j) => engine.expectedFinishAt(j),
    now: () => systemClock.now(),
  });
  const say = (text: string) => view.line(`animate: ${text}`);
  let finished: (job: JobRecord) => void = () => undefined;
  const ended = new Promise<JobRecord>((resolve) => (finished = resolve));
  let savedTo: string | undefined;

  const keyv: Store = new Keyv<unknown>({ namespace: 'animate', throwOnErrors: true });
  let announced = false;
  let promptTold = false;
  const jobs = watchJobs(createJobStore(keyv), (written) => {
    if (!announced) {
      announced = true;
      say(`job ${written.id}: ${describe(written.request, job.endImage !== undefined)}`);
    }
    // The prompt the video is made from, once the enhancer has had its say (on stderr: stdout
    // holds only the saved path).
    const enhanced = written.enhance?.state;
    if (!promptTold && (enhanced === 'used' || enhanced === 'failed')) {
      promptTold = true;
      say(
        enhanced === 'used'
          ? `prompt (enhanced): ${promptOf(written)}`
          : `the prompt enhancer was unavailable; using your prompt: ${promptOf(written)}`,
      );
    }
    view.show(written);
    if (TERMINAL_STATES.has(written.state)) finished(written);
  });
  // The progress lines tell the story a job's info lines would; warnings and errors still show.
  const level = config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL;
  const secrets = [config.WAVESPEED_API_KEY, config.FAL_KEY].filter((s): s is string => !!s);
  const log = createLogger({ level, secrets, destination: { write: (line: string) => view.line(line) } });
  const engine: Engine = createEngine({
    settings: engineSettingsFrom(config),
    log,
    economy: createKeyvEconomy({ keyv, startingCredits: UNLIMITED_CREDITS }),
    policy: () => Promise.resolve({}),
    jobs,
    providers,
    optimizer,
    http,
    delivery: createTerminalDelivery({
      http,
      outFor: (j) => job.out ?? resolve(io.cwd, `animate-${j.id}.mp4`),
      downloadTimeoutMs: config.OUTPUT_DOWNLOAD_TIMEOUT_MS,
      onSaved(_j, path, video) {
        savedTo = path;
        if (video.spoiler) say('the provider flagged this video as possibly sensitive');
      },
    }),
    clock: systemClock,
  });

  try {
    const { request } = job;
    const accepted = await engine.accept({
      userId: TERMINAL_USER,
      guildId: null,
      channelId: TERMINAL_USER,
      // The engine downloads a video up to this size and hands over its bytes (larger: its URL).
      attachmentSizeLimit: config.OUTPUT_MAX_BYTES,
      request,
      image: job.image,
      ...(job.endImage ? { endImage: job.endImage } : {}),
    });
    if (!accepted.ok) {
      view.stop();
      say(refusalText(accepted.failure));
      return exitCodeForRefusal(accepted.failure.code);
    }
    const { id } = accepted.job;

    const stop = new Promise<'interrupted'>((resolve) => {
      if (interrupted.aborted) resolve('interrupted');
      else interrupted.addEventListener('abort', () => resolve('interrupted'), { once: true });
    });
    const outcome = await Promise.race([ended, stop]);
    if (outcome === 'interrupted') {
      say('interrupted; cancelling the job');
      const cancelled = await within(engine.cancel(id, TERMINAL_USER), CANCEL_WAIT_MS);
      view.stop();
      if (cancelled === 'cancelled') say('cancelled');
      else if (cancelled === undefined) say('the cancel did not finish in time; leaving anyway');
      else if (savedTo) say(`too late to cancel: the video was saved to ${savedTo}`);
      else say('too late to cancel');
      return EXIT.interrupted;
    }
    view.stop();
    if (outcome.state === 'delivered' && savedTo) {
      const moved = outcome.failover
        ? ` (${outcome.failover.from} was unavailable; ran on ${outcome.runModel})`
        : '';
      say(`saved ${savedTo}${moved}`);
      io.stdout.write(`${savedTo}\n`);
      return EXIT.saved;
    }
    const failure = outcome.failure ?? { code: 'internal', message: failureMessage({ code: 'internal' }) };
    say(`the job failed: ${jobFailureText(outcome.runModel, failure)}`);
    return exitCodeForJob(failure.code);
  } finally {
    view.stop();
    await within(engine.stop(), CLOSE_WAIT_MS);
  }
}

/** `wavespeed/ray-2-flash, 5 s, 16:9`, and the options that were set. */
function describe(request: AnimateRequest, endImage: boolean): string {
  const parts = [
    request.model,
    `${request.durationSeconds} s`,
    request.aspectRatio,
    request.resolution,
    request.loop ? 'loop' : undefined,
    endImage ? 'end image' : undefined,
    request.enhance ? 'prompt enhancer' : undefined,
  ];
  return parts.filter((p): p is string => p !== undefined).join(', ');
}

/** `promise`, or undefined once `ms` have passed without it settling. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
