import { Code, ConnectError } from "@connectrpc/connect";
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  errors,
  type JSONWebKeySet,
  type JWTPayload,
  jwtVerify,
} from "jose";
import { keyLimitsFromJson } from "../limits/index.js";
import { AuthConfigError } from "./errors.js";
import { isJsonObject, parseJsonText } from "./json-text.js";
import { isScope, type Principal, type Scope } from "./principal.js";

/** How JWT bearer tokens are checked. Give hs256Secret, jwks, or both. */
export interface JwtOptions {
  /** Secret for HS256 tokens, at least 32 bytes (RFC 7518 §3.2). */
  hs256Secret?: Uint8Array;
  /** Public keys for RS256, ES256 and EdDSA tokens, matched by `kid`. */
  jwks?: { keys: object[] };
  /** Required `iss` claim. Default: any issuer. */
  issuer?: string;
  /** Required `aud` claim (one of its values). Default: any audience. */
  audience?: string;
}

/** Algorithms accepted with a JWKS: asymmetric only, so a public key can never serve as an HMAC secret. */
export const jwksAlgorithms = ["RS256", "ES256", "EdDSA", "Ed25519"];

/** Whether a credential has a JWT's shape: three base64url parts joined by dots. */
export function looksLikeJwt(credential: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(credential);
}

/**
 * Parses a JWKS file's text: `{"keys": [{"kty": "RSA", "kid": "…", …}]}`,
 * public keys only. Throws AuthConfigError naming `source` and the key when
 * it is malformed, holds a private or symmetric key, or has no keys.
 */
export function parseJwks(text: string, source: string): { keys: object[] } {
  const json = parseJsonText(text, source);
  if (!isJsonObject(json) || !Array.isArray(json.keys)) {
    throw new AuthConfigError(`${source} must be a JWKS: {"keys": [{"kty": "RSA", …}]}`);
  }
  if (json.keys.length === 0) {
    throw new AuthConfigError(`${source} holds no keys`);
  }
  json.keys.forEach((key: unknown, index) => {
    const where = `${source} key ${index + 1}`;
    if (!isJsonObject(key) || typeof key.kty !== "string") {
      throw new AuthConfigError(`${where} must be a JWK object with a 'kty' field`);
    }
    if (key.kty === "oct") {
      throw new AuthConfigError(`${where} is a symmetric key; give an HS256 secret instead`);
    }
    if ("d" in key) {
      throw new AuthConfigError(`${where} is a private key; a JWKS here needs public keys only`);
    }
  });
  try {
    createLocalJWKSet(json as unknown as JSONWebKeySet);
  } catch (err) {
    throw new AuthConfigError(`${source} is not a valid JWKS: ${(err as Error).message}`);
  }
  return { keys: json.keys as object[] };
}

/**
 * Creates the check of a JWT bearer token. It resolves with the token's
 * principal: keyId "jwt:" + `sub` (required); scopes from `scope` (a
 * space-separated string) and `scopes` (an array), unknown ones ignored;
 * limits from a `modelmora_limits` object in the snake_case names of key
 * files. It rejects with UNAUTHENTICATED "invalid token: …" saying what is
 * wrong, never quoting the token. HS256 tokens are checked with the secret,
 * others with the JWKS.
 */
export function createJwtVerifier(options: JwtOptions): (token: string) => Promise<Principal> {
  const { hs256Secret, jwks, issuer, audience } = options;
  if (hs256Secret === undefined && jwks === undefined) {
    throw new AuthConfigError("JWT settings need an HS256 secret, a JWKS, or both");
  }
  if (hs256Secret !== undefined && hs256Secret.byteLength < 32) {
    throw new AuthConfigError(
      `the HS256 secret is ${hs256Secret.byteLength} bytes; it must be at least 32 (256 bits, RFC 7518 §3.2)`,
    );
  }
  const keySet =
    jwks === undefined ? undefined : createLocalJWKSet(jwks as unknown as JSONWebKeySet);
  const claims = { issuer, audience };

  return async function verifyJwt(token) {
    let payload: JWTPayload;
    try {
      const { alg } = decodeProtectedHeader(token);
      if (alg === "HS256" && hs256Secret !== undefined) {
        ({ payload } = await jwtVerify(token, hs256Secret, { ...claims, algorithms: ["HS256"] }));
      } else if (alg !== "HS256" && keySet !== undefined) {
        ({ payload } = await jwtVerify(token, keySet, { ...claims, algorithms: jwksAlgorithms }));
      } else {
        throw invalidToken(`algorithm ${describe(alg)} is not accepted`);
      }
    } catch (err) {
      throw err instanceof ConnectError ? err : invalidToken(reasonOf(err, options));
    }
    return principalFromClaims(payload);
  };
}

function principalFromClaims(payload: JWTPayload): Principal {
  if (typeof payload.sub !== "string" || payload.sub === "") {
    throw invalidToken("it has no 'sub' claim");
  }
  const scopes = new Set<Scope>();
  const named: unknown[] = [];
  if (typeof payload.scope === "string") {
    named.push(...payload.scope.split(/\s+/));
  }
  if (Array.isArray(payload.scopes)) {
    named.push(...payload.scopes);
  }
  for (const scope of named) {
    if (isScope(scope)) {
      scopes.add(scope);
    }
  }
  const principal = { keyId: `jwt:${payload.sub}`, scopes, via: "jwt" as const };
  if (payload.modelmora_limits === undefined) {
    return principal;
  }
  try {
    return {
      ...principal,
      limits: keyLimitsFromJson(payload.modelmora_limits, "claim modelmora_limits"),
    };
  } catch (err) {
    throw invalidToken((err as Error).message);
  }
}

function reasonOf(err: unknown, options: JwtOptions): string {
  if (err instanceof errors.JWTExpired) {
    return "it has expired";
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return "bad signature";
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case "iss":
        return `wrong issuer (expected '${options.issuer}')`;
      case "aud":
        return `wrong audience (expected '${options.audience}')`;
      case "nbf":
        return "it is not valid yet (nbf)";
      default:
        return `claim '${err.claim}' failed validation (${err.reason})`;
    }
  }
  if (err instanceof errors.JOSEAlgNotAllowed) {
    return "its algorithm is not accepted";
  }
  if (err instanceof errors.JWKSNoMatchingKey) {
    return "no key in the JWKS matches its kid and algorithm";
  }
  if (err instanceof errors.JWKSMultipleMatchingKeys) {
    return "several JWKS keys match; the token needs a kid";
  }
  return "malformed JWT";
}

/** An algorithm name, quoted, cut short: it comes from the caller. */
function describe(alg: unknown): string {
  return typeof alg === "string" ? `'${alg.slice(0, 16)}'` : "(none)";
}

function invalidToken(reason: string): ConnectError {
  return new ConnectError(`invalid token: ${reason}`, Code.Unauthenticated);
}
