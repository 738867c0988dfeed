import { Code } from "@connectrpc/connect";
import { codeLabelFromCode } from "../observability/index.js";

/**
 * HTTP status for each Connect error code, as the Connect protocol maps
 * them. The REST routes answer with these, so one failure has one status
 * whichever protocol reports it.
 */
export const httpStatusFromCode: Readonly<Record<Code, number>> = {
  [Code.Canceled]: 499,
  [Code.Unknown]: 500,
  [Code.InvalidArgument]: 400,
  [Code.DeadlineExceeded]: 504,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.PermissionDenied]: 403,
  [Code.ResourceExhausted]: 429,
  [Code.FailedPrecondition]: 400,
  [Code.Aborted]: 409,
  [Code.OutOfRange]: 400,
  [Code.Unimplemented]: 501,
  [Code.Internal]: 500,
  [Code.Unavailable]: 503,
  [Code.DataLoss]: 500,
  [Code.Unauthenticated]: 401,
};

/** The snake_case name of a code, as Connect writes it in JSON errors. */
export function codeName(code: Code): string {
  return codeLabelFromCode(code);
}

/**
 * Stable codes for failures outside RPCs, with messages a user can act on.
 * Thrown as ServerError.
 */
export type ServerErrorCode = "port_in_use" | "permission_denied_port" | "tls_files" | "renderer";

/** A failure of the server itself (not of one call), with a stable code. */
export class ServerError extends Error {
  override readonly name = "ServerError";
  constructor(
    readonly code: ServerErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
