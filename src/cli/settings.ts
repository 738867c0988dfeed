/**
 * Reads the flags of `npm run serve` (the table in flags.ts) from the
 * command line and the environment, and writes --help from the same table.
 */
import { parseArgs } from "node:util";
import { ModelMoraError } from "../errors.js";
import { flags } from "./flags.js";

/** The text of --help. */
export function usage(command = "npm run serve --"): string {
  const lines = [`Usage: ${command} [flags]`, "", "Flags (environment variable, default):"];
  for (const [name, spec] of Object.entries(flags)) {
    const shown = spec.fallback === undefined ? spec.env : `${spec.env}, ${spec.fallback}`;
    lines.push(`  --${name.padEnd(24)} ${spec.help} (${shown})`);
  }
  return lines.join("\n");
}

/**
 * Each flag's value: the flag, else its environment variable, else its
 * default; undefined when it has none. "help" is set when -h or --help was
 * given. Throws ModelMoraError "usage" naming the flag for a bad value.
 */
export function settingsFromArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): Map<string, string> {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        ...Object.fromEntries(
          Object.entries(flags).map(([name, spec]) => [
            name,
            { type: "string" as const, multiple: spec.multiple === true },
          ]),
        ),
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (err) {
    throw new ModelMoraError("usage", (err as Error).message);
  }
  const settings = new Map<string, string>();
  if (values.help) settings.set("help", "true");
  for (const [name, spec] of Object.entries(flags)) {
    const given = values[name] as string | string[] | undefined;
    const value =
      (Array.isArray(given) ? given.join(",") : given) ?? env[spec.env] ?? spec.fallback;
    if (value === undefined) continue;
    if (spec.kind === "int" && !/^\d+$/.test(value)) {
      throw new ModelMoraError(
        "usage",
        `--${name} (${spec.env}) must be a whole number, got "${value}"`,
      );
    }
    if (spec.kind === "int" && Number(value) < (spec.min ?? 0)) {
      throw new ModelMoraError(
        "usage",
        `--${name} (${spec.env}) must be at least ${spec.min}, got ${value}`,
      );
    }
    if (spec.kind === "bool" && value !== "true" && value !== "false") {
      throw new ModelMoraError(
        "usage",
        `--${name} (${spec.env}) must be true or false, got "${value}"`,
      );
    }
    settings.set(name, value);
  }
  return settings;
}
