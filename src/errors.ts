/**
 * The server's own failures, outside any call (those are ConnectErrors with
 * a Code): one class, with a stable string code a program can test and a
 * message a user can act on.
 *
 * - "usage": a flag or environment variable has a bad value (the CLI
 *   exits 2);
 * - "auth_config": the authentication settings are wrong (a key file,
 *   MODELMORA_API_KEYS, a JWKS, a secret); the message names the source,
 *   the entry and the field, never a key (exit 2);
 * - "config": another setting the server can't run with, such as a memory
 *   budget smaller than the image cache (exit 2);
 * - "renderer": no Canvas implementation could be loaded (exit 1);
 * - "port_in_use", "port_permission": the port can't be listened on (exit 1).
 */
export type ModelMoraErrorCode =
  | "usage"
  | "auth_config"
  | "config"
  | "renderer"
  | "port_in_use"
  | "port_permission";

/** A failure of the server itself, with a stable code. */
export class ModelMoraError extends Error {
  override readonly name = "ModelMoraError";
  constructor(
    readonly code: ModelMoraErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Whether an error is a setting the user must change (the CLI's exit code 2). */
export function isSettingError(err: unknown): err is ModelMoraError {
  return (
    err instanceof ModelMoraError &&
    (err.code === "usage" || err.code === "auth_config" || err.code === "config")
  );
}
