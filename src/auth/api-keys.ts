import { createHash, timingSafeEqual } from "node:crypto";
import { type KeyLimits, keyLimitsFromJson } from "../limits/index.js";
import { AuthConfigError } from "./errors.js";
import { isJsonObject, parseJsonText } from "./json-text.js";
import { allScopes, defaultKeyScopes, isScope, type Principal, type Scope } from "./principal.js";

/** One API key, as configured. Give exactly one of key and keySha256. */
export interface ApiKeyEntry {
  /** A name for the key, safe to log: letters, digits and . _ - @, at most 128. */
  id: string;
  /** The key itself: visible ASCII, no spaces (it travels in an HTTP header). */
  key?: string;
  /** Hex SHA-256 of the key's UTF-8 bytes (`printf %s KEY | sha256sum`), so files need not hold keys. */
  keySha256?: string;
  /** What the key may do. */
  scopes: Scope[];
  /** The key's own limits, overriding the server defaults field by field. */
  limits?: Partial<KeyLimits>;
}

const idPattern = /^[A-Za-z0-9._@-]{1,128}$/;
const keyPattern = /^[\x21-\x7e]+$/;
const sha256Pattern = /^[0-9a-fA-F]{64}$/;
const jsonFields = ["id", "key", "key_sha256", "scopes", "limits"];

/**
 * Parses an API key file: a JSON array of
 * `{"id": "ci", "key": "…" | "key_sha256": "…", "scopes": ["inference"], "limits": {…}}`.
 * scopes defaults to inference and models; limits uses the snake_case names
 * (requests_per_second, burst, bytes_per_day, max_concurrent_streams). An
 * empty array is allowed: authentication stays on and no key gets in.
 * Throws AuthConfigError naming `source`, the entry and the field; the
 * message never holds a key.
 */
export function parseApiKeysJson(text: string, source: string): ApiKeyEntry[] {
  const json = parseJsonText(text, source);
  if (!Array.isArray(json)) {
    throw new AuthConfigError(
      `${source} must hold a JSON array of keys such as [{"id": "ci", "key_sha256": "…", "scopes": ["inference"]}]`,
    );
  }
  const entries = json.map((item: unknown, index) => {
    let where = `${source} entry ${index + 1}`;
    if (!isJsonObject(item)) {
      throw new AuthConfigError(`${where} must be an object with id, key or key_sha256, scopes`);
    }
    if (typeof item.id === "string" && idPattern.test(item.id)) {
      where += ` ('${item.id}')`;
    }
    for (const field of Object.keys(item)) {
      if (!jsonFields.includes(field)) {
        throw new AuthConfigError(
          `${where}: unknown field '${field}' (known: ${jsonFields.join(", ")})`,
        );
      }
    }
    for (const field of ["id", "key", "key_sha256"]) {
      if (item[field] !== undefined && typeof item[field] !== "string") {
        throw new AuthConfigError(`${where}: field '${field}' must be a string`);
      }
    }
    let scopes: Scope[] = [...defaultKeyScopes];
    if (item.scopes !== undefined) {
      if (!Array.isArray(item.scopes)) {
        throw new AuthConfigError(
          `${where}: field 'scopes' must be an array such as ["inference"]`,
        );
      }
      scopes = item.scopes.map((scope: unknown) => checkScope(scope, `${where}: field 'scopes'`));
    }
    const entry: ApiKeyEntry = {
      id: item.id as string,
      key: item.key as string | undefined,
      keySha256: item.key_sha256 as string | undefined,
      scopes,
    };
    if (item.limits !== undefined) {
      try {
        entry.limits = keyLimitsFromJson(item.limits, "limits");
      } catch (err) {
        throw new AuthConfigError(`${where}: ${(err as Error).message}`);
      }
    }
    checkApiKeyEntry(entry, where);
    return entry;
  });
  checkUnique(entries, source);
  return entries;
}

/**
 * Parses the MODELMORA_API_KEYS format: comma-separated `id:key` or
 * `id:key:scope+scope` entries, such as `ci:s3cret,ops:t0ken:monitoring`.
 * Scopes default to inference+models. Keys may not hold ':' or ','. Throws
 * AuthConfigError naming the entry by position and id, never the key; an
 * empty value is an error too (unset the variable to turn keys off).
 */
export function parseApiKeysEnv(text: string): ApiKeyEntry[] {
  const source = "MODELMORA_API_KEYS";
  const items = text.split(",").map((item) => item.trim());
  if (items.every((item) => item === "")) {
    throw new AuthConfigError(`${source} is empty; give id:key entries or unset it`);
  }
  const entries = items.map((item, index) => {
    let where = `${source} entry ${index + 1}`;
    const parts = item.split(":");
    if (parts.length < 2 || parts.length > 3) {
      // The entry itself is not quoted: it holds a key.
      throw new AuthConfigError(
        `${where} must be id:key or id:key:scope+scope (a key may not hold ':' or ',')`,
      );
    }
    const [id, key, scopeList] = parts as [string, string, string | undefined];
    if (idPattern.test(id)) {
      where += ` ('${id}')`;
    }
    const scopes =
      scopeList === undefined
        ? [...defaultKeyScopes]
        : scopeList.split("+").map((scope) => checkScope(scope, `${where}: scopes`));
    const entry: ApiKeyEntry = { id, key, scopes };
    checkApiKeyEntry(entry, where);
    return entry;
  });
  checkUnique(entries, source);
  return entries;
}

/** Finds the principal of an API key. */
export interface ApiKeyStore {
  /** The principal whose key this is, or undefined. Takes the same time whichever entry matches. */
  lookup(key: string): Principal | undefined;
  /** How many keys there are. */
  readonly size: number;
}

/**
 * Indexes API keys by their SHA-256. A lookup hashes the key it is given and
 * compares that with every entry's hash using timingSafeEqual, never
 * stopping early, so the time taken says nothing about which bytes matched.
 * Throws AuthConfigError on an invalid entry or a repeated id or key.
 */
export function createApiKeyStore(entries: readonly ApiKeyEntry[]): ApiKeyStore {
  const indexed = entries.map((entry) => {
    const where = idPattern.test(entry.id) ? `API key '${entry.id}'` : "API key";
    checkApiKeyEntry(entry, where);
    const principal: Principal = Object.freeze({
      keyId: entry.id,
      scopes: new Set(entry.scopes),
      via: "api-key" as const,
      ...(entry.limits === undefined ? {} : { limits: Object.freeze({ ...entry.limits }) }),
    });
    return { digest: digestOf(entry), principal };
  });
  checkUnique(entries, "API keys");
  return {
    lookup(key) {
      const digest = sha256(key);
      let found: Principal | undefined;
      for (const entry of indexed) {
        if (timingSafeEqual(digest, entry.digest) && found === undefined) {
          found = entry.principal;
        }
      }
      return found;
    },
    size: indexed.length,
  };
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

function digestOf(entry: ApiKeyEntry): Buffer {
  return entry.key !== undefined ? sha256(entry.key) : Buffer.from(entry.keySha256 ?? "", "hex");
}

function checkScope(scope: unknown, where: string): Scope {
  if (!isScope(scope)) {
    const shown = typeof scope === "string" ? `'${scope}'` : JSON.stringify(scope);
    throw new AuthConfigError(`${where}: unknown scope ${shown} (known: ${allScopes.join(", ")})`);
  }
  return scope;
}

function checkApiKeyEntry(entry: ApiKeyEntry, where: string): void {
  if (typeof entry.id !== "string" || !idPattern.test(entry.id)) {
    throw new AuthConfigError(`${where}: field 'id' must be 1 to 128 letters, digits or . _ - @`);
  }
  if ((entry.key === undefined) === (entry.keySha256 === undefined)) {
    throw new AuthConfigError(`${where}: give exactly one of 'key' and 'key_sha256'`);
  }
  if (entry.key !== undefined && !keyPattern.test(entry.key)) {
    throw new AuthConfigError(
      `${where}: field 'key' must be visible ASCII without spaces (it is sent in an HTTP header)`,
    );
  }
  if (entry.keySha256 !== undefined && !sha256Pattern.test(entry.keySha256)) {
    throw new AuthConfigError(`${where}: field 'key_sha256' must be 64 hex digits`);
  }
  for (const scope of entry.scopes) {
    checkScope(scope, `${where}: field 'scopes'`);
  }
}

function checkUnique(entries: readonly ApiKeyEntry[], source: string): void {
  const ids = new Set<string>();
  const digests = new Map<string, string>();
  for (const entry of entries) {
    if (ids.has(entry.id)) {
      throw new AuthConfigError(`${source}: id '${entry.id}' appears twice`);
    }
    ids.add(entry.id);
    const digest = digestOf(entry).toString("hex");
    const other = digests.get(digest);
    if (other !== undefined) {
      throw new AuthConfigError(`${source}: keys '${other}' and '${entry.id}' are the same key`);
    }
    digests.set(digest, entry.id);
  }
}
