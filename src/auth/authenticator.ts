import { Code, ConnectError } from "@connectrpc/connect";
import { type ApiKeyEntry, createApiKeyStore } from "./api-keys.js";
import { createJwtVerifier, type JwtOptions, looksLikeJwt } from "./jwt.js";
import { anonymousPrincipal, type Principal, type Scope } from "./principal.js";

/**
 * What createAuthenticator accepts. Leaving both fields out turns
 * authentication off. Giving either turns it on, even an empty apiKeys
 * array: then no API key gets in, rather than every caller.
 */
export interface AuthOptions {
  /** The API keys that are accepted. */
  apiKeys?: ApiKeyEntry[];
  /** How JWT bearer tokens are checked. */
  jwt?: JwtOptions;
}

/** Checks who is calling and what they may do. */
export interface Authenticator {
  /** False when neither API keys nor JWT are configured: every call is the anonymous principal, with all scopes. */
  readonly enabled: boolean;
  /**
   * Reads `x-api-key: KEY` or, when that is absent, `authorization: Bearer
   * KEY-OR-JWT`. A bearer value shaped like a JWT is checked as one when JWT
   * is configured; anything else is looked up as an API key. Rejects with
   * ConnectError UNAUTHENTICATED saying what is wrong (missing credentials,
   * unknown API key, invalid token and why); the message never holds the key
   * or token.
   */
  authenticate(headers: Headers): Promise<Principal>;
  /** Throws ConnectError PERMISSION_DENIED ("key 'ID' lacks scope 'inference'") when the principal lacks the scope. */
  authorize(principal: Principal, scope: Scope): void;
}

/**
 * Creates an authenticator. Throws AuthConfigError on bad settings: an
 * invalid or repeated key, a JWT section with neither secret nor JWKS, an
 * HS256 secret under 32 bytes.
 */
export function createAuthenticator(options: AuthOptions): Authenticator {
  const enabled = options.apiKeys !== undefined || options.jwt !== undefined;
  const keys = createApiKeyStore(options.apiKeys ?? []);
  const verifyJwt = options.jwt === undefined ? undefined : createJwtVerifier(options.jwt);

  function byApiKey(key: string): Principal {
    const principal = keys.lookup(key);
    if (principal !== undefined) {
      return principal;
    }
    if (verifyJwt === undefined && looksLikeJwt(key)) {
      throw unauthenticated("unknown API key (this server accepts no JWT bearer tokens)");
    }
    throw unauthenticated("unknown API key");
  }

  return {
    enabled,
    async authenticate(headers) {
      if (!enabled) {
        return anonymousPrincipal;
      }
      const apiKey = headers.get("x-api-key");
      if (apiKey !== null) {
        const key = apiKey.trim();
        if (key === "") {
          throw unauthenticated("missing credentials: the x-api-key header is empty");
        }
        return byApiKey(key);
      }
      const authorization = headers.get("authorization")?.trim() ?? "";
      if (authorization === "") {
        throw unauthenticated(
          "missing credentials: send the header 'x-api-key: KEY' or 'authorization: Bearer KEY-OR-JWT'",
        );
      }
      const bearer = /^Bearer[ \t]+([^ \t]+)$/i.exec(authorization);
      if (bearer === null) {
        throw unauthenticated(
          "the authorization header must be 'Bearer' followed by one API key or JWT",
        );
      }
      const credential = bearer[1] as string;
      if (verifyJwt !== undefined && looksLikeJwt(credential)) {
        return verifyJwt(credential);
      }
      return byApiKey(credential);
    },
    authorize(principal, scope) {
      if (!principal.scopes.has(scope)) {
        throw new ConnectError(
          `key '${principal.keyId}' lacks scope '${scope}'`,
          Code.PermissionDenied,
        );
      }
    },
  };
}

function unauthenticated(message: string): ConnectError {
  return new ConnectError(message, Code.Unauthenticated);
}
