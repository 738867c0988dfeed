/**
 * The flags of `npm run soak`. Library module of bench/soak/run-soak.ts.
 */
import { parseArgs } from "node:util";

/** What the soak runs against and for how long. */
export interface SoakOptions {
  /** How long to drive traffic, in minutes (fractions allowed). */
  readonly minutes: number;
  /** A running server to drive; undefined spawns one (`node --import tsx src/cli.ts`). */
  readonly url: string | undefined;
  /**
   * What resident memory may grow past the server's memory budget, in
   * bytes, over the baseline taken after the warm-up: what the allocator
   * has not handed back yet and the connections' own buffers.
   */
  readonly allowanceBytes: number;
  /** Seconds between the progress lines. */
  readonly reportSeconds: number;
  /**
   * The memory budget to hold a server to when its /metrics has no
   * modelmora_memory_budget_bytes (one older than the budget), in bytes.
   */
  readonly fallbackBudgetBytes: number;
}

export const usage = `Usage: npm run soak -- [flags]

Drives mixed traffic at a ModelMora server for a while: every protocol,
cancels, deadlines, slow readers, reset storms, malformed input, stalled
connections. Prints RSS, CPU and error counts every 10 s; exits 1 if RSS
grows past the memory budget plus the allowance, or any call ends with an
unexpected code. See bench/soak/README.md.

  --minutes N        how long (default 5; fractions allowed, e.g. 0.5)
  --url URL          drive a running server instead of spawning one
  --allowance-mib N  RSS growth allowed past the memory budget (default 256)
  --report-seconds N seconds between progress lines (default 10)
  --budget-mib N     the budget to hold a server without modelmora_memory_budget_bytes
                     to (an older one, given by --url; default 512)
  --help             this text
`;

/** Parses argv; throws an Error with a message for the user on a bad flag. */
export function parseSoakOptions(argv: readonly string[]): SoakOptions | "help" {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      minutes: { type: "string", default: "5" },
      url: { type: "string" },
      "allowance-mib": { type: "string", default: "256" },
      "report-seconds": { type: "string", default: "10" },
      "budget-mib": { type: "string", default: "512" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) return "help";
  const number = (name: string, text: string, min: number) => {
    const value = Number(text);
    if (!Number.isFinite(value) || value < min) {
      throw new Error(`--${name} must be a number of at least ${min}, got "${text}"`);
    }
    return value;
  };
  return {
    minutes: number("minutes", values.minutes, 0.05),
    url: values.url,
    allowanceBytes: number("allowance-mib", values["allowance-mib"], 0) * 1024 * 1024,
    reportSeconds: number("report-seconds", values["report-seconds"], 1),
    fallbackBudgetBytes: number("budget-mib", values["budget-mib"], 1) * 1024 * 1024,
  };
}
