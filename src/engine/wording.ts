// The one place that turns a provider failure into words for a member. Operators get the
// structured details in the log; members get one clear sentence and never a raw error.
import type { ProviderError } from '../providers/errors.js';

export function failureText(error: ProviderError): { code: string; message: string } {
  switch (error.kind) {
    case 'moderation':
      return {
        code: 'moderation',
        message: 'The provider refused this image or prompt under its content policy.',
      };
    case 'invalid_input':
      return { code: 'invalid_input', message: 'The provider could not use this image or these options.' };
    case 'auth':
      return {
        code: 'provider_auth',
        message: 'The bot could not sign in to the video provider. An admin has to check its key.',
      };
    case 'balance':
      return {
        code: 'provider_balance',
        message: 'The bot’s account with the video provider is out of funds. An admin has to top it up.',
      };
    case 'rate_limited':
      return {
        code: 'provider_busy',
        message: 'The video provider is too busy right now. Please try again in a few minutes.',
      };
    case 'unavailable':
    case 'network':
      return {
        code: 'provider_down',
        message: 'The video provider is not answering right now. Please try again later.',
      };
    case 'timeout':
      return { code: 'timeout', message: 'The video took too long and was cancelled.' };
    case 'failed':
    case 'protocol':
      return { code: 'provider_failed', message: 'The video provider could not make this video.' };
  }
}
