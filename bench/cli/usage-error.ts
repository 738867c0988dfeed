/**
 * A flag value the user got wrong. `npm run bench` and `npm run bench:levers`
 * print its message with the help text and exit with code 2.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Whether err is a usage mistake: ours, or node:util parseArgs's (unknown flag, missing value). */
export function isUsageError(err: unknown): boolean {
  return (
    err instanceof UsageError ||
    ((err as { code?: unknown })?.code as string | undefined)?.startsWith("ERR_PARSE_ARGS") === true
  );
}
