/**
 * Authentication (API keys and JWT bearer tokens) and scope checks. Every
 * rejection is a ConnectError (UNAUTHENTICATED or PERMISSION_DENIED) whose
 * message never holds a key or token; bad settings are AuthConfigError.
 */
export type { KeyLimits } from "../limits/index.js";
export {
  type ApiKeyEntry,
  type ApiKeyStore,
  createApiKeyStore,
  parseApiKeysEnv,
  parseApiKeysJson,
} from "./api-keys.js";
export { type Authenticator, type AuthOptions, createAuthenticator } from "./authenticator.js";
export { AuthConfigError } from "./errors.js";
export {
  createJwtVerifier,
  type JwtOptions,
  jwksAlgorithms,
  looksLikeJwt,
  parseJwks,
} from "./jwt.js";
export {
  allScopes,
  anonymousPrincipal,
  defaultKeyScopes,
  isScope,
  type Principal,
  type Scope,
} from "./principal.js";
