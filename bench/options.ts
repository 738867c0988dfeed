/**
 * The bench's flags, their defaults, and the three profiles (full, --quick,
 * --smoke) that decide how many iterations each scenario runs.
 *
 * Library module of `npm run bench`; parses the argv it is given (see
 * `usage`) and reads NO_COLOR from the environment for the output.
 */
import { parseArgs } from "node:util";

/** The scenarios, in the order they run. */
export const scenarioIds = ["single", "load", "small", "unary", "memory"] as const;
export type ScenarioId = (typeof scenarioIds)[number];

/** End-to-end (every image generated) or transport-only (the same bytes from the cache). */
export type Mode = "transport" | "e2e";

/** How many iterations a scenario runs in one mode. */
export interface IterationPlan {
  /** Measured iterations (tinybench `iterations`: the minimum). */
  readonly iterations: number;
  /** Unmeasured iterations first (tinybench warmup); 0 turns warmup off. */
  readonly warmupIterations: number;
  /** Time budget per row in ms (tinybench `time`): runs go on until both are met. */
  readonly timeMs: number;
}

/** How much a run measures. */
export type Profile = "full" | "quick" | "smoke";

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
  /** Iteration plans, by scenario and mode (unary and memory use "transport"). */
  readonly plans: Readonly<Record<ScenarioId, Readonly<Record<Mode, IterationPlan | undefined>>>>;
  /** HTTP/2 windows of every h2 client (and of the bare h2 baseline server), in bytes. */
  readonly windowBytes: number;
  /** --chunk-bytes of the spawned server and baselines; undefined keeps the server's default. */
  readonly chunkBytes?: number;
  /** --renderer of the spawned server and baselines. */
  readonly renderer?: string;
  /** Sent as x-api-key to the server under test. */
  readonly apiKey?: string;
  /** Sent as authorization: Bearer to the server under test. */
  readonly token?: string;
  /** Folder for the report files. */
  readonly outDir: string;
  /** Python with grpcio for the seed's-stack baseline. */
  readonly python: string;
  /** The flags as given, for the report. */
  readonly argv: readonly string[];
}

/** A flag value the user got wrong. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** The help text. */
export const usage = `Usage: npm run bench -- [flags]

Compares gRPC, gRPC-Web, Connect (binary, JSON) and REST over HTTP/1.1 and
HTTP/2 against a ModelMora server, with bare-Node, grpc-js and Python grpcio
baselines, and applies the seed's decision rule. See bench/README.md.

Target
  --url URL              measure a running server instead of spawning one
  --api-key KEY          send x-api-key: KEY to the server
  --token TOKEN          send authorization: Bearer TOKEN to the server
  --chunk-bytes N        the spawned server's and baselines' --chunk-bytes
  --renderer NAME        the spawned server's and baselines' --renderer
  --no-baselines         skip the baselines
  --baselines LIST       keep these baselines: bare-h2,bare-h1,grpc-js,grpc-js-client,grpcio
  --python PATH          Python with grpcio for the grpcio baseline (/usr/bin/python3)

What to measure
  --protocols LIST       keep these rows: grpc,grpc-web-h1,grpc-web-h2,connect-h1,connect-h2,
                         connect-json-h1,connect-json-h2,rest-h1,rest-h2, or families
                         (grpc-web, connect, connect-json, rest; "grpc" is gRPC alone)
  --scenarios LIST       single,load,small,unary,memory (default: all; --quick: no memory)
  --mode M               transport, e2e or both (default both)
  --model ID             model of single/load/memory (noise-1000)
  --batch N              batch_size of the single request (10)
  --clients N            clients of the load scenario (10)
  --load-batch N         batch_size of each load client (5)
  --connections C        load clients share one connection (shared) or not (per-client, default)
  --memory-streams N     concurrent streams of the memory scenario (100)
  --window-bytes N       HTTP/2 windows of the clients (16777216)
  --iterations N         measured iterations of every streaming scenario
  --time MS              minimum time per row in ms (tinybench time)

Profiles and output
  --quick                fewer iterations, no memory scenario, no e2e load: < 1 minute
  --smoke                tiny sizes, 1 iteration; exit code 1 on any failure (CI)
  --out DIR              report folder (results)
  -h, --help             this text

Environment: NO_COLOR turns colours off. The spawned server also reads its
MODELMORA_* variables (npm run serve -- --help).`;

const defaultWindowBytes = 16 * 1024 * 1024;

function plan(iterations: number, warmupIterations: number, timeMs = 0): IterationPlan {
  return { iterations, warmupIterations, timeMs };
}

type Plans = Record<ScenarioId, Record<Mode, IterationPlan | undefined>>;

/** Iterations per profile. e2e warmups are 0: every warmup would generate images. */
const profilePlans: Record<Profile, Plans> = {
  full: {
    single: { transport: plan(10, 2), e2e: plan(4, 0) },
    load: { transport: plan(3, 1), e2e: plan(2, 0) },
    small: { transport: plan(100, 10), e2e: plan(30, 0) },
    unary: { transport: plan(200, 20, 300), e2e: undefined },
    memory: { transport: plan(1, 0), e2e: undefined },
  },
  quick: {
    single: { transport: plan(3, 1), e2e: plan(1, 0) },
    load: { transport: plan(1, 0), e2e: undefined },
    small: { transport: plan(20, 3), e2e: plan(5, 0) },
    unary: { transport: plan(50, 5, 100), e2e: undefined },
    memory: { transport: undefined, e2e: undefined },
  },
  smoke: {
    single: { transport: plan(1, 0), e2e: plan(1, 0) },
    load: { transport: plan(1, 0), e2e: plan(1, 0) },
    small: { transport: plan(1, 0), e2e: plan(1, 0) },
    unary: { transport: plan(3, 0), e2e: undefined },
    memory: { transport: plan(1, 0), e2e: undefined },
  },
};

/** Parses argv into options. Throws UsageError; returns undefined for --help. */
export function optionsFromArgs(argv: readonly string[]): BenchOptions | undefined {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      url: { type: "string" },
      "api-key": { type: "string" },
      token: { type: "string" },
      "chunk-bytes": { type: "string" },
      renderer: { type: "string" },
      "no-baselines": { type: "boolean" },
      baselines: { type: "string" },
      python: { type: "string" },
      protocols: { type: "string" },
      scenarios: { type: "string" },
      mode: { type: "string" },
      model: { type: "string" },
      batch: { type: "string" },
      clients: { type: "string" },
      "load-batch": { type: "string" },
      connections: { type: "string" },
      "memory-streams": { type: "string" },
      "window-bytes": { type: "string" },
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
  const profile: Profile = values.smoke ? "smoke" : values.quick ? "quick" : "full";
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

  let scenarios: ScenarioId[];
  const scenarioList = list(values.scenarios);
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

  const iterations =
    values.iterations === undefined ? undefined : int("iterations", values.iterations, 1);
  const timeMs = values.time === undefined ? undefined : int("time", values.time, 0, 0);
  const base = profilePlans[profile];
  const plans = Object.fromEntries(
    scenarioIds.map((id) => [
      id,
      Object.fromEntries(
        (["transport", "e2e"] as const).map((m) => {
          const p = base[id][m];
          // --iterations and --time apply to the streaming scenarios; unary
          // keeps its own, larger count of fast calls.
          if (p === undefined || id === "unary" || id === "memory") return [m, p];
          return [
            m,
            {
              iterations: iterations ?? p.iterations,
              warmupIterations: p.warmupIterations,
              timeMs: timeMs ?? p.timeMs,
            },
          ];
        }),
      ),
    ]),
  ) as unknown as Plans;
  const smoke = profile === "smoke";
  return {
    profile,
    url: values.url,
    baselines: !values["no-baselines"],
    baselineFilter: list(values.baselines),
    protocolFilter: list(values.protocols),
    scenarios,
    modes,
    model: values.model ?? "noise-1000",
    batch: int("batch", values.batch, smoke ? 1 : 10),
    clients: int("clients", values.clients, smoke ? 2 : 10),
    loadBatch: int("load-batch", values["load-batch"], smoke ? 1 : 5),
    smallModel: "thumb-64",
    smallBatch: smoke ? 2 : 10,
    memoryStreams: int("memory-streams", values["memory-streams"], smoke ? 3 : 100),
    memoryBatch: smoke ? 1 : 10,
    connections,
    plans,
    windowBytes: int("window-bytes", values["window-bytes"], defaultWindowBytes, 65_535),
    chunkBytes:
      values["chunk-bytes"] === undefined
        ? undefined
        : int("chunk-bytes", values["chunk-bytes"], 1_000_000),
    renderer: values.renderer,
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
