/**
 * A problem in the authentication settings (a key file, the
 * MODELMORA_API_KEYS variable, a JWKS file, a secret), found at startup. The
 * message names the source, the entry and the field, and never holds a key.
 */
export class AuthConfigError extends Error {
  override readonly name = "AuthConfigError";
  /** Stable code, for the server's error table. */
  readonly code = "auth_config";
}
