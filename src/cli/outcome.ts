// How a run ends for the shell: the contract's exit codes, and the one line that says why, in the
// runner's words (its options are flags, its provider keys are settings, nothing is charged).
import { failureMessage, type Failure, type FailureCode } from '../failures.js';
import { MODELS, type ModelId } from '../providers/catalog.js';
import type { ProviderId } from '../providers/types.js';

export const EXIT = {
  saved: 0,
  /** Bad arguments or input: not an image, an unknown option, one the model does not support, a bad setting. */
  badInput: 2,
  /** The provider refused the key or has no funds. */
  providerAccount: 3,
  /** The job failed, was refused by moderation, or timed out. */
  jobFailed: 4,
  interrupted: 130,
} as const;

const KEY_SETTING: Record<ProviderId, string> = { wavespeed: 'WAVESPEED_API_KEY', fal: 'FAL_KEY' };

/** The exit code of a job that ended without a video. */
export function exitCodeForJob(code: string): number {
  if (code === 'provider_auth' || code === 'provider_balance') return EXIT.providerAccount;
  if (code === 'cancelled') return EXIT.interrupted;
  return EXIT.jobFailed;
}

/** The exit code of a request refused before it ran (every refusal is about the request or a setting). */
export function exitCodeForRefusal(code: FailureCode): number {
  return code === 'insufficient_credits' || code === 'server_cap' ? EXIT.jobFailed : EXIT.badInput;
}

/** A refusal before anything ran, with the runner's flag and setting names. */
export function refusalText(failure: Failure): string {
  switch (failure.code) {
    case 'unsupported_option':
      // The enhancer is WaveSpeed's, whatever the model: what is missing is its key.
      return failure.option === 'enhance'
        ? `--enhance needs ${KEY_SETTING.wavespeed} (WaveSpeed's prompt optimizer), which is not set`
        : `${failure.model} does not support ${flagOf(failure.option)}`;
    case 'model_unavailable':
      return `${failure.model} needs ${keySetting(failure.model)}, which is not set`;
    default:
      return failureMessage(failure);
  }
}

/** Why a job ended without a video: a key or funds problem names the setting, anything else as stored. */
export function jobFailureText(model: ModelId, failure: { code: string; message: string }): string {
  const provider = MODELS[model].provider;
  if (failure.code === 'provider_auth') return `${provider} refused the key in ${keySetting(model)}`;
  if (failure.code === 'provider_balance') return `the ${provider} account has no funds left`;
  return failure.message;
}

export function keySetting(model: ModelId): string {
  return KEY_SETTING[MODELS[model].provider];
}

/** /animate's option names as the runner's flags: `end_image` is `--end-image`, `size: 4:3` is `--size 4:3`. */
function flagOf(option: string): string {
  const [name = option, value] = option.split(': ');
  return `--${name.replace(/_/g, '-')}${value !== undefined ? ` ${value}` : ''}`;
}
