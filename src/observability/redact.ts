/** What a redacted value is replaced with. */
export const redactedText = "[redacted]";

/**
 * True for a field name that may hold a credential: any name that ends in
 * "key" (key, api_key, apiKey, x-api-key, privateKey) or mentions token,
 * authorization, password, passwd, secret, cookie, credential or bearer,
 * ignoring case, "-" and "_". "key_id" is not one: a key id is safe to log.
 */
export function isSecretFieldName(name: string): boolean {
  const flat = name.toLowerCase().replace(/[-_\s]/g, "");
  return flat.endsWith("key") || secretWords.test(flat);
}

const secretWords = /token|authorization|password|passwd|secret|cookie|credential|bearer/;

// "Bearer <token>" and "Basic <credentials>" as they appear in an
// Authorization header, and anything shaped like a JWT (three base64url
// parts, the first two starting with "eyJ", which is `{"` encoded).
const secretInText = [
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi,
  /\beyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g,
];

/** A string with bearer credentials and JWT-shaped tokens in it replaced by "[redacted]". */
export function redactText(text: string): string {
  let out = text;
  for (const pattern of secretInText) {
    out = out.replace(pattern, (match, scheme?: string) =>
      typeof scheme === "string" && match.startsWith(scheme)
        ? `${scheme} ${redactedText}`
        : redactedText,
    );
  }
  return out;
}

/** How deep redactFields looks into nested objects; deeper values become "[too deep]". */
const maxDepth = 8;

/**
 * A copy of log fields with every secret-named field (isSecretFieldName), at
 * any depth, replaced by "[redacted]", and every string passed through
 * redactText. Errors become { name, message, code, stack }; cycles become
 * "[circular]". The server never passes secrets: this is belt and braces.
 */
export function redactFields(fields: Record<string, unknown>): Record<string, unknown> {
  return redactObject(fields, 0, new WeakSet());
}

function redactObject(
  value: Record<string, unknown>,
  depth: number,
  seen: WeakSet<object>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(value)) {
    out[name] = isSecretFieldName(name) ? redactedText : redactValue(field, depth + 1, seen);
  }
  return out;
}

function redactValue(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === "string") {
    return redactText(value);
  }
  if (typeof value !== "object" || value === null) {
    return value;
  }
  if (seen.has(value)) {
    return "[circular]";
  }
  if (depth > maxDepth) {
    return "[too deep]";
  }
  seen.add(value);
  try {
    if (value instanceof Error) {
      const code = (value as NodeJS.ErrnoException).code;
      return redactObject(
        { name: value.name, message: value.message, code, stack: value.stack },
        depth,
        seen,
      );
    }
    if (Array.isArray(value)) {
      return value.map((item) => redactValue(item, depth + 1, seen));
    }
    if (value instanceof Uint8Array) {
      // Bytes could be anything, a key included; their size is what a log needs.
      return `[${value.byteLength} bytes]`;
    }
    if (value instanceof Date) {
      return value.toISOString();
    }
    return redactObject(value as Record<string, unknown>, depth, seen);
  } finally {
    // Only ancestors count as cycles: the same object twice side by side is fine.
    seen.delete(value);
  }
}
