/**
 * The bench's errors: a response that differs from what the server declared
 * (VerificationError), and the one-line message of any thrown value that
 * the tables and progress lines show.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */

/** A verification failure: what arrived differs from what the server said. */
export class VerificationError extends Error {
  override readonly name = "VerificationError";
}

/** A one-line message of any thrown value: its name (unless plain Error), first line and code. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const first = err.message.split("\n")[0] ?? err.message;
    return `${err.name !== "Error" ? `${err.name}: ` : ""}${first}${
      code !== undefined && !first.includes(String(code)) ? ` (${String(code)})` : ""
    }`;
  }
  return String(err);
}
