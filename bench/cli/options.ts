/**
 * The bench's flags and their defaults, resolved into one BenchOptions with
 * the iteration plans of the chosen profile (full, --quick, --smoke).
 *
 * Library module of `npm run bench`; parses the argv it is given (see
 * usage.ts) and reads nothing from the environment.
 */
import { parseArgs } from "node:util";
import {
  type FixedScenarioId,
  type IterationPlan,
  type Mode,
  type Plans,
  type Profile,
  profiles,
  type ScenarioId,
  scenarioIds,
  sweepIds,
} from "./profiles.js";
import { serverFlags } from "./server-flags.js";
import { UsageError } from "./usage-error.js";

export { type IterationPlan, type Mode, type Profile, type ScenarioId, scenarioIds };

/** Everything a run needs to know, resolved from flags and profile. */
export interface BenchOptions {
  readonly profile: Profile;
  /** Target an already running server instead of spawning one. */
  readonly url?: string;
  /** Spawn and measure the baselines. */
  readonly baselines: boolean;
  /** Baseline ids to keep (prefix match); undefined keeps all. */
  readonly baselineFilter?: readonly string[];
  /** Protocol row ids to keep (prefix match); undefined keeps all. */
  readonly protocolFilter?: readonly string[];
  /**
   * Run the browser rows (headless Chromium; skipped with one line without
   * it). Default: yes in a full and a quick run, no with --smoke; --browser
   * runs them alone, --no-browser leaves them out.
   */
  readonly browserRows: boolean;
  readonly scenarios: readonly ScenarioId[];
  readonly modes: readonly Mode[];
  /** Model of the single, load and memory scenarios. */
  readonly model: string;
  /** batch_size of the single-request scenario. */
  readonly batch: number;
  /** Concurrent clients of the load scenario. */
  readonly clients: number;
  /** batch_size of each load client. */
  readonly loadBatch: number;
  /** Model and batch of the small-payload scenario. */
  readonly smallModel: string;
  readonly smallBatch: number;
  /** Streams and batch of the memory scenario. */
  readonly memoryStreams: number;
  readonly memoryBatch: number;
  /** Load clients share one connection, or each opens its own. */
  readonly connections: "shared" | "per-client";
  /** Iteration plans of the fixed scenarios, by scenario and mode (unary and memory use "transport"). */
  readonly plans: Readonly<Plans>;
  /** The payload sweep: one image of each model per request, transport-only. */
  readonly payloadModels: readonly string[];
  /** Its iterations per round, by model. */
  readonly payloadPlan: (model: string) => IterationPlan;
  /** The concurrency sweep: concurrent streams at each level, each one image of concurrencyModel. */
  readonly concurrencyStreams: readonly number[];
  readonly concurrencyModel: string;
  /** Its iterations per round, by level. */
  readonly concurrencyPlan: (streams: number) => IterationPlan;
  /** The open-loop scenario: offered loads in requests per second, and how long each runs, ms. */
  readonly openLoopRatesRps: readonly number[];
  readonly openLoopDurationMs: number;
  /** HTTP/2 windows of every h2 client (and of the bare h2 baseline server), in bytes. */
  readonly windowBytes: number;
  /** --chunk-bytes of the spawned server and baselines; undefined keeps the server's default. */
  readonly chunkBytes?: number;
  /** --renderer of the spawned server and baselines. */
  readonly renderer?: string;
  /** The pass-through flags (server-flags.ts) for the spawned server, e.g. ["--chunk-bytes", "500000"]. */
  readonly serverArgs: readonly string[];
  /** The pass-through flags that the Node baselines get too. */
  readonly baselineServerArgs: readonly string[];
  /** Sent as x-api-key to the server under test. */
  readonly apiKey?: string;
  /** Sent as authorization: Bearer to the server under test. */
  readonly token?: string;
  /** Folder for the report files. */
  readonly outDir: string;
  /** Python with grpcio for the proof of concept's-stack baseline. */
  readonly python: string;
  /** The flags as given, for the report. */
  readonly argv: readonly string[];
}

const defaultWindowBytes = 16 * 1024 * 1024;

/** Parses argv into options. Throws UsageError; returns undefined for --help. */
export function optionsFromArgs(argv: readonly string[]): BenchOptions | undefined {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      url: { type: "string" },
      "api-key": { type: "string" },
      token: { type: "string" },
      ...Object.fromEntries(serverFlags.map((flag) => [flag.name, { type: "string" as const }])),
      "no-baselines": { type: "boolean" },
      baselines: { type: "string" },
      python: { type: "string" },
      protocols: { type: "string" },
      scenarios: { type: "string" },
      sweep: { type: "boolean" },
      "no-sweep": { type: "boolean" },
      browser: { type: "boolean" },
      "no-browser": { type: "boolean" },
      mode: { type: "string" },
      model: { type: "string" },
      batch: { type: "string" },
      clients: { type: "string" },
      "load-batch": { type: "string" },
      connections: { type: "string" },
      "memory-streams": { type: "string" },
      sizes: { type: "string" },
      streams: { type: "string" },
      rates: { type: "string" },
      "window-bytes": { type: "string" },
      rounds: { type: "string" },
      iterations: { type: "string" },
      time: { type: "string" },
      quick: { type: "boolean" },
      smoke: { type: "boolean" },
      out: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    return undefined;
  }
  if (values.quick && values.smoke) {
    throw new UsageError("--quick and --smoke are alternatives; give one");
  }
  if (values.sweep && values["no-sweep"]) {
    throw new UsageError("--sweep and --no-sweep are alternatives; give one");
  }
  if (values.browser && values["no-browser"]) {
    throw new UsageError("--browser and --no-browser are alternatives; give one");
  }
  if (values.browser && (values.protocols !== undefined || values.sweep)) {
    throw new UsageError(
      "--browser runs the browser rows alone; leave out --protocols and --sweep",
    );
  }
  if (values.sweep && values.scenarios !== undefined) {
    throw new UsageError("--sweep is --scenarios payload,concurrency; give one or the other");
  }
  const profile: Profile = values.smoke ? "smoke" : values.quick ? "quick" : "full";
  const settings = profiles[profile];
  const int = (name: string, text: string | undefined, fallback: number, min = 1): number => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < min) {
      throw new UsageError(`--${name} must be a whole number of at least ${min}, got "${text}"`);
    }
    return value;
  };
  const list = (text: string | undefined) =>
    text === undefined
      ? undefined
      : text
          .split(",")
          .map((item) => item.trim())
          .filter((item) => item !== "");
  const intList = (name: string, text: string | undefined): number[] | undefined => {
    const items = list(text);
    if (items !== undefined && items.length === 0) {
      throw new UsageError(`--${name} needs at least one value`);
    }
    return items?.map((item) => int(name, item, 1));
  };

  let scenarios: ScenarioId[];
  // The browser rows run the single, load and small scenarios (clients/target-rows.ts).
  const browserScenarios = ["single", "load", "small"];
  const scenarioList = values.sweep
    ? [...sweepIds]
    : (list(values.scenarios) ?? (values.browser ? browserScenarios : undefined));
  if (scenarioList !== undefined) {
    for (const id of scenarioList) {
      if (!(scenarioIds as readonly string[]).includes(id)) {
        throw new UsageError(`--scenarios: unknown "${id}"; one of ${scenarioIds.join(", ")}`);
      }
    }
    scenarios = scenarioIds.filter((id) => scenarioList.includes(id));
  } else {
    scenarios =
      profile === "quick" ? scenarioIds.filter((id) => id !== "memory") : [...scenarioIds];
  }
  if (values["no-sweep"]) {
    scenarios = scenarios.filter((id) => !sweepIds.includes(id));
  }

  const mode = values.mode ?? "both";
  if (mode !== "both" && mode !== "transport" && mode !== "e2e") {
    throw new UsageError(`--mode must be transport, e2e or both, got "${mode}"`);
  }
  const modes: Mode[] = mode === "both" ? ["transport", "e2e"] : [mode];

  const connections = values.connections ?? "per-client";
  if (connections !== "shared" && connections !== "per-client") {
    throw new UsageError(`--connections must be shared or per-client, got "${connections}"`);
  }

  if (values.url !== undefined) {
    let url: URL;
    try {
      url = new URL(values.url);
    } catch {
      throw new UsageError(
        `--url must be a URL such as http://127.0.0.1:8080, got "${values.url}"`,
      );
    }
    if (url.protocol !== "http:") {
      throw new UsageError("--url must be a cleartext http:// URL (the bench speaks h2c)");
    }
  }

  const rounds = values.rounds === undefined ? undefined : int("rounds", values.rounds, 1);
  const iterations =
    values.iterations === undefined ? undefined : int("iterations", values.iterations, 1);
  const timeMs = values.time === undefined ? undefined : int("time", values.time, 0, 0);
  const serverArgs: string[] = [];
  const baselineServerArgs: string[] = [];
  const flagValues = values as Record<string, string | boolean | undefined>;
  for (const flag of serverFlags) {
    const value = flagValues[flag.name];
    if (typeof value !== "string") continue;
    if (!flag.baselines && values.url !== undefined) {
      throw new UsageError(
        `--${flag.name} is a setting of the server the bench spawns; with --url, start that server with it`,
      );
    }
    if (flag.minimum !== undefined && !flag.words?.includes(value)) {
      const number = Number(value);
      if (!Number.isSafeInteger(number) || number < flag.minimum) {
        const words = flag.words === undefined ? "" : ` or ${flag.words.join(", ")}`;
        throw new UsageError(
          `--${flag.name} must be a whole number of at least ${flag.minimum}${words}, got "${value}"`,
        );
      }
    }
    serverArgs.push(`--${flag.name}`, value);
    if (flag.baselines) baselineServerArgs.push(`--${flag.name}`, value);
  }

  /** A profile's plan with --rounds, --iterations and --time applied. */
  const adjust = (p: IterationPlan, streaming: boolean): IterationPlan => ({
    rounds: rounds ?? p.rounds,
    // --iterations and --time apply to the streaming scenarios; unary keeps
    // its own, larger count of fast calls.
    iterations: streaming ? (iterations ?? p.iterations) : p.iterations,
    warmupIterations: p.warmupIterations,
    timeMs: streaming ? (timeMs ?? p.timeMs) : p.timeMs,
  });
  const fixedIds: FixedScenarioId[] = ["single", "load", "small", "unary", "memory"];
  const plans = Object.fromEntries(
    fixedIds.map((id) => [
      id,
      Object.fromEntries(
        (["transport", "e2e"] as const).map((m) => {
          const p = settings.plans[id][m];
          if (p === undefined) return [m, undefined];
          // The memory scenario is one round on a fresh server (see scenarios/specs.ts).
          if (id === "memory") return [m, p];
          return [m, adjust(p, id !== "unary")];
        }),
      ),
    ]),
  ) as unknown as Plans;
  const sweepPlan = (count: number, warmupIterations: number): IterationPlan => ({
    rounds: rounds ?? settings.rounds,
    iterations: count,
    warmupIterations,
    timeMs: 0,
  });
  const smoke = profile === "smoke";
  return {
    profile,
    url: values.url,
    baselines: !values["no-baselines"],
    baselineFilter: list(values.baselines),
    protocolFilter: values.browser ? ["browser"] : list(values.protocols),
    browserRows: values.browser === true || (!values["no-browser"] && !smoke),
    scenarios,
    modes,
    model: values.model ?? "noise-1000",
    batch: int("batch", values.batch, smoke ? 1 : 10),
    clients: int("clients", values.clients, smoke ? 2 : 10),
    // --quick: 2 images per load client (60 MB an iteration instead of 150 MB).
    loadBatch: int("load-batch", values["load-batch"], smoke ? 1 : profile === "quick" ? 2 : 5),
    smallModel: "thumb-64",
    smallBatch: smoke ? 2 : 10,
    memoryStreams: int("memory-streams", values["memory-streams"], smoke ? 3 : 100),
    memoryBatch: smoke ? 1 : 10,
    connections,
    plans,
    payloadModels: list(values.sizes) ?? settings.payloadModels,
    payloadPlan: (model) => sweepPlan(settings.payloadIterations(model), smoke ? 0 : 1),
    concurrencyStreams: intList("streams", values.streams) ?? settings.concurrencyStreams,
    concurrencyModel: smoke ? "noise-10k" : "noise-1m",
    concurrencyPlan: (streams) => sweepPlan(settings.concurrencyIterations(streams), 0),
    openLoopRatesRps: intList("rates", values.rates) ?? settings.openLoopRatesRps,
    openLoopDurationMs: settings.openLoopDurationMs,
    windowBytes: int("window-bytes", values["window-bytes"], defaultWindowBytes, 65_535),
    chunkBytes:
      typeof flagValues["chunk-bytes"] === "string" ? Number(flagValues["chunk-bytes"]) : undefined,
    renderer: typeof flagValues.renderer === "string" ? flagValues.renderer : undefined,
    serverArgs,
    baselineServerArgs,
    apiKey: values["api-key"],
    token: values.token,
    outDir: values.out ?? "results",
    python: values.python ?? "/usr/bin/python3",
    argv: [...argv],
  };
}

/** Headers for the server under test, from --api-key and --token. */
export function authHeaders(options: BenchOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  if (options.apiKey !== undefined) headers["x-api-key"] = options.apiKey;
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  return headers;
}
