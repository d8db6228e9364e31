// The one catalogue of what can go wrong for a member: a typed code with the facts its sentence
// needs, and the one sentence a member reads for it. Commands, rerun refusals and job notices all
// word their failures here; operators get the structured details in the log instead.
import type { ModelId } from './providers/catalog.js';
import type { ProviderError } from './providers/errors.js';

export type Failure =
  // Refusals before anything is charged.
  | {
      code: 'insufficient_credits';
      price: number;
      balance: number;
      rerun?: boolean;
      /** When the server's allowance next tops the balance up (ms); absent when there is none. */
      allowanceAt?: number;
    }
  | { code: 'model_unavailable'; model: ModelId; rerun?: boolean }
  // A server's own rules (/animate-admin), checked before anything is charged.
  | { code: 'model_disabled'; model: ModelId; rerun?: boolean }
  | { code: 'server_cap'; resetsAt: number; rerun?: boolean }
  | { code: 'blocked'; rerun?: boolean }
  | { code: 'channel_not_allowed'; channels: string[]; rerun?: boolean }
  | { code: 'role_required'; rerun?: boolean }
  | { code: 'prompt_blocked'; rerun?: boolean }
  | { code: 'not_admin' }
  | { code: 'guild_only' }
  | { code: 'unsupported_option'; model: ModelId; option: string }
  | { code: 'unknown_model'; model: string }
  | { code: 'bad_prompt' }
  | { code: 'bad_size'; size: string }
  | { code: 'bad_duration' }
  | { code: 'bad_resolution'; resolution: string }
  | { code: 'attachment_host' }
  | { code: 'image_too_large'; maxBytes: number }
  | { code: 'image_unreachable' }
  | { code: 'not_an_image' }
  | { code: 'missing_permission'; permission: string }
  | { code: 'forum_requires_tag' }
  | { code: 'not_in_server' }
  | { code: 'stale_interaction' }
  /** The bot is shutting down: new requests wait for the next start. */
  | { code: 'restarting' }
  | { code: 'rerun_cooldown'; retryAt: number }
  // A job that was accepted and then failed: refunded, and the member is told in the thread.
  | { code: 'no_longer_affordable' }
  | { code: 'waited_too_long' }
  | { code: 'timeout' }
  /** Stopped with Cancel: by the member who asked, or by a moderator. */
  | { code: 'cancelled'; byRequester: boolean }
  | { code: 'moderation' }
  | { code: 'invalid_input' }
  | { code: 'input_image_gone' }
  | { code: 'provider_auth' }
  | { code: 'provider_balance' }
  | { code: 'provider_busy' }
  | { code: 'provider_down' }
  | { code: 'provider_failed' }
  | { code: 'no_video' }
  | { code: 'nsfw_blocked' }
  | { code: 'delivery_failed' }
  | { code: 'submit_unknown' }
  | { code: 'internal'; errorId?: string };

export type FailureCode = Failure['code'];

const NOTHING_CHARGED = 'Nothing was charged.';

/** The sentence a member reads. Refusals say nothing was charged; job failures say it in the notice. */
export function failureMessage(failure: Failure): string {
  switch (failure.code) {
    case 'insufficient_credits': {
      const more =
        failure.allowanceAt === undefined
          ? 'A server admin can grant you more.'
          : `Your allowance tops you up again ${relativeTime(failure.allowanceAt)}.`;
      return failure.rerun
        ? `A rerun costs ${failure.price} credits and you have ${failure.balance}, so nothing was started or charged. ${more}`
        : `This video costs ${failure.price} credits and you have ${failure.balance}. ${more} ${NOTHING_CHARGED}`;
    }
    case 'model_unavailable':
      return failure.rerun
        ? `${failure.model} is not available on this bot right now, so the rerun was not started. ${NOTHING_CHARGED}`
        : `${failure.model} is not available on this bot right now. ${NOTHING_CHARGED}`;
    case 'model_disabled':
      return failure.rerun
        ? `${failure.model} is not available in this server, so the rerun was not started. ${NOTHING_CHARGED}`
        : `${failure.model} is not available in this server. ${NOTHING_CHARGED}`;
    case 'server_cap':
      return `This server has used its credits for now${failure.rerun ? ', so the rerun was not started' : ''}; the limit resets ${relativeTime(failure.resetsAt)}. ${NOTHING_CHARGED}`;
    case 'blocked':
      return `You may not use /animate${failure.rerun ? ' or reruns' : ''} in this server. ${NOTHING_CHARGED}`;
    case 'channel_not_allowed':
      return `${failure.rerun ? 'Reruns' : '/animate'} can be used only in ${channelList(failure.channels)} in this server. ${NOTHING_CHARGED}`;
    case 'role_required':
      return `${failure.rerun ? 'Reruns are' : '/animate is'} only for members with one of the roles this server allows. ${NOTHING_CHARGED}`;
    case 'prompt_blocked':
      return `${failure.rerun ? 'That prompt' : 'Your prompt'} contains something this server does not allow${failure.rerun ? ', so the rerun was not started' : ''}. ${NOTHING_CHARGED}`;
    case 'not_admin':
      return 'Only members with the **Manage Server** permission can use /animate-admin.';
    case 'guild_only':
      return 'This command works only in a server.';
    case 'unsupported_option':
      // The enhancer is the bot's, not the model's: without it no model offers `enhance`.
      return failure.option === 'enhance'
        ? `${failure.model} does not support \`enhance\` here: the prompt enhancer is not available on this bot. ${NOTHING_CHARGED}`
        : `${failure.model} does not support \`${failure.option}\`. ${NOTHING_CHARGED}`;
    case 'unknown_model':
      return `There is no model called “${failure.model}”.`;
    case 'bad_prompt':
      return 'The prompt must be 1 to 2,000 characters.';
    case 'bad_size':
      return `There is no size called “${failure.size}”.`;
    case 'bad_duration':
      return 'Duration must be 5 or 10 seconds.';
    case 'bad_resolution':
      return `There is no resolution “${failure.resolution}”.`;
    case 'attachment_host':
      return 'That attachment is not hosted on Discord, so I will not fetch it.';
    case 'image_too_large':
      return `That image is too large: the limit is ${mib(failure.maxBytes)}.`;
    case 'image_unreachable':
      return 'I could not download that image from Discord. Please try again.';
    case 'not_an_image':
      return 'That file is not a PNG, JPEG or WebP image.';
    case 'missing_permission':
      return `I am missing the **${failure.permission}** permission in this channel, so I cannot post your video here. Ask a server admin to grant it. ${NOTHING_CHARGED}`;
    case 'forum_requires_tag':
      return `This channel requires a tag on every post, and I do not pick tags for a server. Use /animate inside one of its posts, or in another channel. ${NOTHING_CHARGED}`;
    case 'not_in_server':
      return `I can only post videos in servers I have been added to, and in a DM with me. Ask a server admin to add me, or use /animate in a DM with me. ${NOTHING_CHARGED}`;
    case 'stale_interaction':
      return 'This is no longer available.';
    case 'restarting':
      return `The bot is restarting, try again in a minute. ${NOTHING_CHARGED}`;
    case 'no_longer_affordable':
      return 'You no longer have enough credits for this job.';
    case 'waited_too_long':
      return 'The job waited too long to start.';
    case 'timeout':
      return 'The video took too long and was cancelled.';
    case 'rerun_cooldown':
      return `You can rerun again ${relativeTime(failure.retryAt)}, so nothing was started or charged.`;
    case 'cancelled':
      return failure.byRequester ? 'You cancelled this video.' : 'A moderator cancelled this video.';
    case 'moderation':
      return 'The provider refused this image or prompt under its content policy.';
    case 'invalid_input':
      return 'The provider could not use this image or these options.';
    case 'input_image_gone':
      return 'The input image is no longer available, so this job cannot run. Please start a new /animate.';
    case 'provider_auth':
      return 'The bot could not sign in to the video provider. An admin has to check its key.';
    case 'provider_balance':
      return 'The bot’s account with the video provider is out of funds. An admin has to top it up.';
    case 'provider_busy':
      return 'The video provider is too busy right now. Please try again in a few minutes.';
    case 'provider_down':
      return 'The video provider is not answering right now. Please try again later.';
    case 'provider_failed':
      return 'The video provider could not make this video.';
    case 'no_video':
      return 'The video provider returned no video.';
    case 'nsfw_blocked':
      return 'The provider flagged this video as possibly sensitive, and this server only shows those in age-restricted channels.';
    case 'delivery_failed':
      return 'The video was made but could not be posted here.';
    case 'submit_unknown':
      return 'The bot restarted while sending this job to the provider and cannot tell whether it started.';
    case 'internal':
      return failure.errorId
        ? `Something went wrong on our side (error ${failure.errorId}).`
        : 'Something went wrong on our side.';
  }
}

/** A provider's typed error, as the failure a member is told about. */
export function providerFailure(error: ProviderError): Failure {
  switch (error.kind) {
    case 'moderation':
      return { code: 'moderation' };
    case 'invalid_input':
      return { code: 'invalid_input' };
    case 'auth':
      return { code: 'provider_auth' };
    case 'balance':
      return { code: 'provider_balance' };
    case 'rate_limited':
      return { code: 'provider_busy' };
    case 'unavailable':
    case 'network':
      return { code: 'provider_down' };
    case 'timeout':
      return { code: 'timeout' };
    case 'failed':
    case 'protocol':
      return { code: 'provider_failed' };
  }
}

/** What a job record keeps of its failure: the code, and the sentence as the member read it. */
export function storedFailure(failure: Failure): { code: FailureCode; message: string } {
  return { code: failure.code, message: failureMessage(failure) };
}

/** A refusal a command or a button throws; the dispatcher shows its sentence ephemerally. */
export class Refusal extends Error {
  override readonly name = 'Refusal';
  readonly failure: Failure;

  constructor(failure: Failure, options?: ErrorOptions) {
    super(failureMessage(failure), options);
    this.failure = failure;
  }

  get code(): FailureCode {
    return this.failure.code;
  }
}

export function isRefusal(error: unknown): error is Refusal {
  return error instanceof Refusal;
}

/** A moment as Discord shows it to each reader, relative ("in 3 hours"). */
export function relativeTime(ms: number): string {
  return `<t:${Math.floor(ms / 1000)}:R>`;
}

/** At most this many channels are named in a refusal; the rest are counted. */
const CHANNELS_NAMED = 10;

function channelList(ids: string[]): string {
  const named = ids.slice(0, CHANNELS_NAMED).map((id) => `<#${id}>`);
  const rest = ids.length - named.length;
  return rest > 0 ? `${named.join(', ')} and ${rest} more` : named.join(', ');
}

function mib(bytes: number): string {
  return `${Math.floor(bytes / (1024 * 1024))} MiB`;
}
