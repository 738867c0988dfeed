import { ModelMoraError } from "../errors.js";

/**
 * A problem in the authentication settings (a key file, the
 * MODELMORA_API_KEYS variable, a JWKS file, a secret), found at startup: a
 * ModelMoraError with code "auth_config". The message names the source,
 * the entry and the field, and never holds a key.
 */
export class AuthConfigError extends ModelMoraError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("auth_config", message, options);
  }
}
