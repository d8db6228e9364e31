// Which model can stand in when a provider is down, with what options, at what price. Only Flash
// jobs move, only to the other provider's Flash model, and only when the stand-in makes the same
// video: the same size, the nearest duration (fal has 5 s and 9 s, WaveSpeed 5 s and 10 s: both
// are asked for as 5 or 10 and map it themselves) and the same resolution class. WaveSpeed renders
// 720p, so a WaveSpeed job runs on fal at 720p, and a fal job moves to WaveSpeed only at 720p.
// The member is never charged more than was quoted: the lower of the two prices (a prompt
// enhancer that was used keeps its credit on either side).
import { MODELS, type ModelId, type ModelOptions } from '../providers/catalog.js';
import type { Resolution } from '../providers/types.js';
import type { JobRecord } from '../store/jobs.js';
import { enhancerCharge } from './enhance.js';

/** The resolution WaveSpeed's Ray 2 models render (they take no resolution option). */
const WAVESPEED_RESOLUTION: Resolution = '720p';

/** The options the job runs with on `runModel`: the request's own, or their stand-in equivalent. */
export function runOptions(job: Pick<JobRecord, 'request' | 'runModel'>): ModelOptions {
  const r = job.request;
  const base = { aspectRatio: r.aspectRatio, durationSeconds: r.durationSeconds };
  if (job.runModel === r.model) {
    return {
      ...base,
      ...(r.resolution ? { resolution: r.resolution } : {}),
      ...(r.loop !== undefined ? { loop: r.loop } : {}),
      ...(r.endImage ? { hasEndImage: true } : {}),
    };
  }
  const to = MODELS[job.runModel];
  return to.resolutions.length > 0 ? { ...base, resolution: WAVESPEED_RESOLUTION } : base;
}

export interface FailoverPlan {
  model: ModelId;
  /** What the member pays: the lower of the quote and the stand-in's price. */
  price: number;
}

export function failoverPlan(job: JobRecord, configured: (id: ModelId) => boolean): FailoverPlan | undefined {
  const from = MODELS[job.runModel];
  if (!from.flashFamily || job.runModel !== job.request.model) return undefined;
  const r = job.request;
  const sameResolution = (to: ModelId) =>
    MODELS[to].resolutions.length > 0 || (r.resolution ?? '540p') === WAVESPEED_RESOLUTION;
  const to = Object.values(MODELS).find(
    (m) =>
      m.flashFamily &&
      m.provider !== from.provider &&
      configured(m.id) &&
      m.aspectRatios.includes(r.aspectRatio) &&
      sameResolution(m.id) &&
      (!r.loop || m.supportsLoop) &&
      (r.endImage === undefined || m.supportsEndImage),
  );
  if (!to) return undefined;
  const ran = MODELS[to.id].price(runOptions({ request: r, runModel: to.id }));
  return { model: to.id, price: Math.min(job.price, ran + enhancerCharge(job)) };
}
