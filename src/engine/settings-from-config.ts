// The engine's settings as the environment gives them: one mapping, shared by the bot's
// composition root and the terminal runner, so both run jobs the same way.
import type { Config } from '../config.js';
import { MODEL_IDS, MODELS, type ModelId } from '../providers/catalog.js';
import { ENGINE_DEFAULTS, type EngineSettings } from './context.js';

/** The settings the engine reads (the bot's and the terminal runner's both have them). */
export type EngineConfig = Pick<
  Config,
  | 'EXPECTED_RUN_MS'
  | 'JOB_DEADLINE_MS'
  | 'OUTPUT_MAX_BYTES'
  | 'OUTPUT_DOWNLOAD_TIMEOUT_MS'
  | 'MAX_ACTIVE_JOBS_PER_MEMBER'
  | 'CREDITS_SCOPE'
  | 'RERUN_COOLDOWN_S'
  | 'PROVIDER_MAX_ACTIVE'
  | 'FAILOVER'
  | 'NSFW_POLICY'
  | 'MEDIA_MEMORY_MB'
>;

export function engineSettingsFrom(config: EngineConfig): EngineSettings {
  return {
    ...ENGINE_DEFAULTS,
    expectedRunMs: expectedRunTimes(config.EXPECTED_RUN_MS),
    jobDeadlineMs: config.JOB_DEADLINE_MS,
    outputMaxBytes: config.OUTPUT_MAX_BYTES,
    outputDownloadTimeoutMs: config.OUTPUT_DOWNLOAD_TIMEOUT_MS,
    maxActivePerMember: config.MAX_ACTIVE_JOBS_PER_MEMBER,
    creditsScope: config.CREDITS_SCOPE,
    rerunCooldownMs: config.RERUN_COOLDOWN_S * 1000,
    providerCaps: config.PROVIDER_MAX_ACTIVE,
    failover: config.FAILOVER,
    nsfwPolicy: config.NSFW_POLICY,
    mediaMemoryBytes: config.MEDIA_MEMORY_MB * 1024 * 1024,
  };
}

/** The catalogue's run time for every model, with EXPECTED_RUN_MS's overrides on top. */
export function expectedRunTimes(overrides: Partial<Record<ModelId, number>> = {}): Record<ModelId, number> {
  const entries = MODEL_IDS.map((id) => [id, overrides[id] ?? MODELS[id].expectedRunSeconds * 1000] as const);
  return Object.fromEntries(entries) as Record<ModelId, number>;
}
