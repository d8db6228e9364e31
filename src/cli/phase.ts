// Where a job is, as the terminal shows it: a phase named from the job record, how far along it
// is (for the bar) and the time left.
import type { JobRecord } from '../store/jobs.js';

export type PhaseName =
  | 'starting'
  | 'waiting'
  | 'uploading'
  | 'enhancing'
  | 'submitting'
  | 'queued'
  | 'rendering'
  | 'fetching'
  | 'saved'
  | 'failed';

export interface Phase {
  name: PhaseName;
  /** Place in line: in the provider's queue, or for a free slot here. */
  position?: number;
}

export function phaseOf(job: JobRecord): Phase {
  const position = job.progress?.position;
  const at = (name: PhaseName): Phase => (position !== undefined ? { name, position } : { name });
  switch (job.state) {
    case 'accepting':
      return { name: 'starting' };
    case 'waiting':
      return at('waiting');
    case 'accepted':
      return { name: 'uploading' };
    case 'enhancing':
      return { name: 'enhancing' };
    case 'submitting':
      return { name: 'submitting' };
    case 'submitted':
      return job.progress?.phase === 'running' ? { name: 'rendering' } : at('queued');
    case 'succeeded':
    case 'delivering':
      return { name: 'fetching' };
    case 'delivered':
      return { name: 'saved' };
    case 'failed':
    case 'refunded':
      return { name: 'failed' };
  }
}

const LABELS: Record<PhaseName, string> = {
  starting: 'starting',
  waiting: 'waiting for a free slot',
  uploading: 'uploading the image',
  enhancing: 'enhancing the prompt',
  submitting: 'submitting',
  queued: 'queued',
  rendering: 'rendering',
  fetching: 'fetching the video',
  saved: 'saved',
  failed: 'failed',
};

export function phaseLabel(phase: Phase): string {
  return phase.position !== undefined
    ? `${LABELS[phase.name]} (position ${phase.position})`
    : LABELS[phase.name];
}

/** Percent done for the bar; the render share grows with the time since submit toward the expected finish. */
export function percentOf(job: JobRecord, finishAt: number | undefined, now: number): number {
  const phase = phaseOf(job).name;
  switch (phase) {
    case 'starting':
    case 'waiting':
      return 0;
    case 'uploading':
      return 3;
    case 'enhancing':
      return 4;
    case 'submitting':
      return 6;
    case 'queued':
    case 'rendering': {
      const since = job.progress?.submittedAt;
      if (since === undefined || finishAt === undefined || finishAt <= since) return 10;
      return 10 + Math.floor(85 * Math.min(1, Math.max(0, (now - since) / (finishAt - since))));
    }
    case 'fetching':
      return 96;
    case 'saved':
      return 100;
    case 'failed':
      return 0;
  }
}

/** `ETA 42s`, `ETA 2m 05s`; `ETA …` while there is no estimate (before the submit). */
export function etaText(finishAt: number | undefined, now: number): string {
  if (finishAt === undefined) return 'ETA …';
  const s = Math.max(0, Math.round((finishAt - now) / 1000));
  return s < 60 ? `ETA ${s}s` : `ETA ${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
}

/** The bar's time column: the ETA while the video is made, then what is left of the job. */
export function timeLeftText(job: JobRecord, finishAt: number | undefined, now: number): string {
  switch (phaseOf(job).name) {
    case 'fetching':
      return 'ETA 0s';
    case 'saved':
      return 'done';
    case 'failed':
      return '';
    default:
      return etaText(finishAt, now);
  }
}
