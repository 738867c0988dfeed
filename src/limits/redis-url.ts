/**
 * Throws an Error saying what is wrong unless url is a redis:// or
 * rediss:// URL (the message never shows a password).
 */
export function checkRedisUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error("must be a URL such as redis://localhost:6379 or rediss://host:6380");
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new Error(
      `must start with redis:// or rediss://, got ${parsed.protocol}// (for example redis://localhost:6379)`,
    );
  }
  if (parsed.hostname === "") {
    throw new Error("names no host (for example redis://localhost:6379)");
  }
}

/** The URL with its password (if any) replaced, for logs. */
export function redactedUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== "") parsed.password = "redacted";
  return parsed.toString();
}
