// Which model can stand in when a provider is down: the other provider's Flash model, only for
// Flash jobs, and only when the request uses nothing the stand-in lacks.
import { MODELS, type ModelId } from '../providers/catalog.js';
import type { JobRecord } from '../store/jobs.js';

export function failoverModel(job: JobRecord, configured: (id: ModelId) => boolean): ModelId | undefined {
  const from = MODELS[job.runModel];
  if (!from.flashFamily) return undefined;
  const r = job.request;
  const candidates = Object.values(MODELS).filter(
    (m) =>
      m.flashFamily &&
      m.provider !== from.provider &&
      configured(m.id) &&
      m.aspectRatios.includes(r.aspectRatio) &&
      (r.resolution === undefined || m.resolutions.includes(r.resolution)) &&
      (r.loop === undefined || m.supportsLoop) &&
      (r.endImage === undefined || m.supportsEndImage),
  );
  return candidates[0]?.id;
}
