// Discord's answers that decide where a post goes next. Decided by status and JSON error code,
// never by message text. See docs/discord.md.
import { DiscordAPIError, HTTPError, RESTJSONErrorCodes } from 'discord.js';

/** A channel discord.js cannot send to (not cached as text-based, or not a channel at all). */
export class NotSendable extends Error {
  override readonly name = 'NotSendable';
  constructor(readonly channelId: string) {
    super(`channel ${channelId} cannot take messages`);
  }
}

/**
 * The place is gone or closed to the bot, so trying again there is pointless (and burns Discord's
 * invalid-request budget): deleted (10003), no access (50001), a permission taken away (50013),
 * an archived (50083) or locked (160005) thread, or a member's DMs closed (50007).
 */
const CLOSED = new Set<number>([
  RESTJSONErrorCodes.UnknownChannel,
  RESTJSONErrorCodes.MissingAccess,
  RESTJSONErrorCodes.MissingPermissions,
  RESTJSONErrorCodes.CannotSendMessagesToThisUser,
  50083,
  160005,
]);

export function isClosedToUs(error: unknown): boolean {
  if (error instanceof NotSendable) return true;
  return error instanceof DiscordAPIError && CLOSED.has(Number(error.code));
}

/**
 * The interaction's token no longer works: expired after 15 minutes (401, 50027), or the
 * interaction or its webhook unknown (10062, 10015), which Discord sometimes answers early.
 */
export function isTokenGone(error: unknown): boolean {
  if (!(error instanceof DiscordAPIError)) return false;
  return [
    RESTJSONErrorCodes.InvalidWebhookToken,
    RESTJSONErrorCodes.UnknownInteraction,
    RESTJSONErrorCodes.UnknownWebhook,
  ].includes(Number(error.code));
}

/** Discord's answers to a file over the limit: 40005 / 50045 (documented), or a bare 413. */
export function isTooLarge(error: unknown): boolean {
  if (error instanceof DiscordAPIError) {
    return (
      error.status === 413 || [RESTJSONErrorCodes.RequestEntityTooLarge, 50045].includes(Number(error.code))
    );
  }
  return error instanceof HTTPError && error.status === 413;
}
