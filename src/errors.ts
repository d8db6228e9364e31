// Errors split by audience: a UserFacingError carries text that is safe to show a member;
// anything else is unexpected and is shown only as a generic line with an error id.

export class UserFacingError extends Error {
  override readonly name = 'UserFacingError';
  /** A stable identifier for logs and tests, e.g. 'insufficient_credits'. */
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

export function isUserFacing(error: unknown): error is UserFacingError {
  return error instanceof UserFacingError;
}
