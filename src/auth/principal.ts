import type { KeyLimits } from "../limits/index.js";

/** What a call may do: run inference, list models, or read health and metrics. */
export type Scope = "inference" | "models" | "monitoring";

/** Every scope, in a stable order. */
export const allScopes: readonly Scope[] = ["inference", "models", "monitoring"];

/** The scopes of an API key that names none: inference and models, not monitoring. */
export const defaultKeyScopes: readonly Scope[] = ["inference", "models"];

/** Whether a string names a scope. */
export function isScope(value: unknown): value is Scope {
  return typeof value === "string" && (allScopes as readonly string[]).includes(value);
}

/**
 * Who is calling, once authenticated. keyId is safe to log and to put in
 * error messages: an API key's id, "jwt:" + a token's `sub`, or "anonymous".
 * It never holds the key or token.
 */
export interface Principal {
  readonly keyId: string;
  readonly scopes: ReadonlySet<Scope>;
  /** The key's own limits, overriding the server defaults field by field. */
  readonly limits?: Partial<KeyLimits>;
  readonly via: "api-key" | "jwt" | "anonymous";
}

/** The principal of every call while authentication is off: all scopes, default limits. */
export const anonymousPrincipal: Principal = Object.freeze({
  keyId: "anonymous",
  scopes: new Set(allScopes),
  via: "anonymous",
});
