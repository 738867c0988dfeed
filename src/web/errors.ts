/**
 * Stable codes for configuration errors of the page and CORS, with messages
 * a user can act on. Thrown as WebConfigError when options are read, before
 * the server listens.
 */
export type WebConfigErrorCode = "cors_origin";

/** A bad setting of the page or of CORS, with a stable code. */
export class WebConfigError extends Error {
  override readonly name = "WebConfigError";
  constructor(
    readonly code: WebConfigErrorCode,
    message: string,
  ) {
    super(message);
  }
}
