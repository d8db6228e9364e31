// Live progress on stderr. On a terminal, a cli-progress bar with the phase and ETA, redrawn as
// time passes; anywhere else (a pipe, a log file), one plain line per phase change (a new place
// in line is not one). Other lines (log lines, notes) go through here too, so they never land in
// the middle of the bar.
import { MultiBar, Presets } from 'cli-progress';
import type { JobRecord } from '../store/jobs.js';
import { etaText, percentOf, phaseLabel, phaseOf, timeLeftText, type PhaseName } from './phase.js';

export interface ProgressView {
  /** The job as last written. */
  show(job: JobRecord): void;
  /** A whole line of text (ends with a newline or gets one). */
  line(text: string): void;
  stop(): void;
}

export interface ProgressOptions {
  stream: NodeJS.WritableStream;
  tty: boolean;
  /** When the video is expected (ms), once it can be told. */
  finishAt(job: JobRecord): number | undefined;
  now(): number;
}

/** How often the bar's percentage and ETA move while nothing is written. */
const TICK_MS = 500;

export function createProgressView(opts: ProgressOptions): ProgressView {
  return opts.tty ? barView(opts) : plainView(opts);
}

const withNewline = (text: string) => (text.endsWith('\n') ? text : `${text}\n`);

function plainView(opts: ProgressOptions): ProgressView {
  let last: PhaseName | undefined;
  return {
    show(job) {
      const phase = phaseOf(job);
      // The end of a job is said by the runner's last line.
      if (phase.name === 'saved' || phase.name === 'failed') return;
      if (phase.name === last) return;
      last = phase.name;
      const finishAt = opts.finishAt(job);
      const eta = finishAt === undefined ? '' : `, ${etaText(finishAt, opts.now())}`;
      opts.stream.write(`animate: ${phaseLabel(phase)}${eta}\n`);
    },
    line: (text) => void opts.stream.write(withNewline(text)),
    stop: () => undefined,
  };
}

function barView(opts: ProgressOptions): ProgressView {
  // A MultiBar of one: its log() prints lines above the bar, where a SingleBar would be overwritten.
  const bars = new MultiBar(
    {
      stream: opts.stream,
      // `{eta}` is cli-progress's own guess from the rate so far; ours comes from the learned run time.
      format: '{bar} {percentage}% | {phase} | {left}',
      barsize: 30,
      fps: 5,
      // After printed lines the bar sits one line lower: draw it every frame, changed or not.
      forceRedraw: true,
      // Leave the terminal's own settings alone, so a hard exit cannot leave them changed.
      linewrap: true,
      hideCursor: false,
    },
    Presets.shades_classic,
  );
  const bar = bars.create(100, 0, { phase: 'starting', left: etaText(undefined, 0) });
  let job: JobRecord | undefined;
  let percent = 0;
  let running = true;
  const update = () => {
    if (!job || !running) return;
    const now = opts.now();
    const finishAt = opts.finishAt(job);
    // Never backwards: a later estimate may move the expected finish out.
    percent = Math.max(percent, percentOf(job, finishAt, now));
    bar.update(percent, { phase: phaseLabel(phaseOf(job)), left: timeLeftText(job, finishAt, now) });
  };
  const timer = setInterval(update, TICK_MS);
  timer.unref();
  return {
    show(next) {
      job = next;
      update();
    },
    line(text) {
      if (running) bars.log(withNewline(text));
      else opts.stream.write(withNewline(text));
    },
    stop() {
      if (!running) return;
      running = false;
      clearInterval(timer);
      // Lines still waiting for the next frame are printed by this last one.
      bars.update();
      bars.stop();
    },
  };
}
