import { AuthConfigError } from "./errors.js";

/**
 * JSON.parse for files that may hold secrets. V8's own messages quote the
 * text around the fault, which could be a key, so only the line and column
 * are reported.
 */
export function parseJsonText(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const position = /position (\d+)/.exec((err as Error).message);
    let where = "";
    if (position !== null) {
      const before = text.slice(0, Number(position[1]));
      const line = before.split("\n").length;
      const column = before.length - before.lastIndexOf("\n");
      where = ` (line ${line}, column ${column})`;
    }
    throw new AuthConfigError(`${source} is not valid JSON${where}`);
  }
}

/** Whether a value is a plain JSON object. */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
