/**
 * The shape of a bench run's figures: what bench-<timestamp>.json holds and
 * what every report renders. Units are in the names; MB is 10^6 bytes, as
 * in the proof of concept.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import type { Mode, ScenarioId } from "../cli/index.js";

/** Summary of a set of samples (ms unless said otherwise). */
export interface Distribution {
  readonly count: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly sd: number;
}

/** Figures of the single-request and small-payload scenarios, per request. */
export interface SingleFigures {
  /** Mean time of one request, first byte of the call to last byte received. */
  readonly totalMs: number;
  /** Image bytes per request. */
  readonly payloadBytes: number;
  /** payloadBytes / totalMs, in MB/s. */
  readonly throughputMBps: number;
  /** totalMs / chunks (the proof of concept's "Avg latency/chunk"). */
  readonly avgChunkLatencyMs: number;
  readonly chunks: number;
  /** True where chunks are the server's writes, not messages (REST, bare). */
  readonly chunksNominal: boolean;
  /** Time to the first payload byte. */
  readonly firstChunk: Distribution;
  /** Request time distribution (tinybench samples). */
  readonly latency: Distribution;
}

/** Figures of the load and memory scenarios, per round of concurrent clients. */
export interface LoadFigures {
  readonly clients: number;
  /** Clients that completed and verified in every round (the smallest count over the rounds). */
  readonly clientsCompleted: number;
  /** Mean time of a round: first call to last byte of the last client. */
  readonly totalMs: number;
  /** Image bytes per round. */
  readonly totalBytes: number;
  /** Mean over clients of each client's bytes / its own time, MB/s. */
  readonly avgClientMBps: number;
  /** totalBytes / totalMs, MB/s. */
  readonly aggregateMBps: number;
  /** Each client's request time, over every round. */
  readonly clientLatency: Distribution;
  /** Each client's time to first payload byte. */
  readonly firstChunk: Distribution;
  /** Round time distribution (tinybench samples). */
  readonly latency: Distribution;
}

/** Figures of the unary scenario. */
export interface UnaryFigures {
  readonly callsPerSecond: number;
  readonly latency: Distribution;
}

/** Bytes on the wire next to payload, per request (per round for load). */
export interface WireFigures {
  /** Bytes read from the client's sockets (headers, framing, payload); undefined if not countable. */
  readonly bytesReadPerRequest?: number;
  /** Bytes written by the client (requests, acks, window updates). */
  readonly bytesWrittenPerRequest?: number;
  /** Image bytes per request. */
  readonly payloadBytesPerRequest: number;
  /** bytesRead / payload - 1, in percent. */
  readonly overheadPercent?: number;
  /** TCP connections the row opened (warm-up included). */
  readonly connections?: number;
}

/** The serving process's cost over the measured iterations. */
export interface ServerFigures {
  /** "metrics" (the server's GET /metrics, RSS from /proc when spawned), "procfs" (/proc/PID), or "none". */
  readonly source: "metrics" | "procfs" | "none";
  /** CPU time (user+system) per request, ms. */
  readonly cpuMsPerRequest?: number;
  /** CPU time per MB of payload, ms. */
  readonly cpuMsPerMB?: number;
  /** Largest RSS seen by polling every 100 ms, bytes. */
  readonly peakRssBytes?: number;
  /** Lifetime largest RSS of the process at the end of the row, bytes. */
  readonly maxRssBytes?: number;
}

/** One protocol (or baseline) in one scenario and mode. */
export interface RowResult {
  readonly scenario: ScenarioId;
  readonly mode: Mode;
  /** Row id, e.g. "connect-h2", "bare-h1". */
  readonly row: string;
  readonly label: string;
  readonly kind: "protocol" | "baseline";
  /** The client stack: "node", and "python" or "browser" where those rows exist. */
  readonly client: string;
  /** The protocol family of a protocol row (grpc, grpc-web, connect, connect-json, rest). */
  readonly protocol?: string;
  /** The client library, e.g. "connect-node", "wire", "node:http". */
  readonly library: string;
  /** A row that explains another (wire clients), never picked by the recommendation. */
  readonly diagnostic?: boolean;
  readonly httpVersion: "1.1" | "2";
  /** How it is measured: client → server. */
  readonly description: string;
  readonly status: "ok" | "failed" | "skipped";
  /** Why it failed or was skipped. */
  readonly reason?: string;
  readonly workload: {
    readonly model: string;
    readonly batch: number;
    readonly clients: number;
    readonly connections: "shared" | "per-client";
  };
  /** Measured iterations (tinybench samples). */
  readonly iterations: number;
  /** Requests verified: images checked for size and sha256. */
  readonly verification: {
    readonly requests: number;
    readonly images: number;
    readonly bytes: number;
    /** sha256 of the sorted image hashes of the first request: equal across rows means same bytes. */
    readonly imageSetSha256?: string;
  };
  readonly single?: SingleFigures;
  readonly load?: LoadFigures;
  readonly unary?: UnaryFigures;
  readonly wire?: WireFigures;
  readonly server?: ServerFigures;
  /** The bench process's own CPU time (user+system) per request, ms: shows when the client is the bottleneck. */
  readonly clientCpuMsPerRequest?: number;
  /** The headline figure: MB/s (single, small), aggregate MB/s (load, memory), calls/s (unary). */
  readonly headline?: number;
  readonly headlineUnit?: "MB/s" | "calls/s";
  /** headline / the reference rows' headline in the same scenario and mode. */
  readonly ratios?: {
    /** vs bare Node of the same HTTP version. */
    readonly bare?: number;
    readonly bareRow?: string;
    /** vs the grpc-js server (with the connect-node gRPC client). */
    readonly grpcJs?: number;
  };
  /** tinybench's own summary of the task. */
  readonly tinybench?: {
    readonly state: string;
    readonly samples: number;
    readonly meanMs?: number;
    readonly p50Ms?: number;
    readonly p75Ms?: number;
    readonly p99Ms?: number;
    readonly rmePercent?: number;
    readonly throughputOpsPerSecond?: number;
    /** Every measured sample, ms (µs precision), sorted (as tinybench keeps them). */
    readonly samplesMs?: readonly number[];
  };
}

/** A check of one of issue 4's targets. */
export interface TargetCheck {
  readonly target: string;
  readonly row: string;
  readonly measured?: number;
  readonly threshold: number;
  readonly unit: string;
  readonly met?: boolean;
  readonly comparison: string;
}

/** The proof of concept's decision rule applied to one comparison. */
export interface VerdictItem {
  readonly comparison: string;
  readonly scenario: ScenarioId;
  readonly mode: Mode;
  readonly grpcRow: string;
  readonly restRow: string;
  readonly grpcFigure?: number;
  readonly restFigure?: number;
  readonly unit: string;
  /** grpc / rest. */
  readonly ratio?: number;
  readonly decision: string;
}

/** The verdict: the primary comparison and the supporting ones. */
export interface Verdict {
  readonly primary: VerdictItem;
  readonly supporting: readonly VerdictItem[];
  readonly summary: string;
}

/** Generation cost of a row: e2e minus transport-only. */
export interface GenerationCost {
  readonly scenario: ScenarioId;
  readonly row: string;
  readonly label: string;
  readonly transportMs: number;
  readonly e2eMs: number;
  /** e2e - transport: the part of an e2e request that generation adds. */
  readonly generationMs: number;
  /** generationMs / e2eMs, percent. */
  readonly generationPercent: number;
  /** Server CPU per request in each mode, and the difference (CPU spent generating). */
  readonly serverCpuTransportMs?: number;
  readonly serverCpuE2eMs?: number;
  readonly serverCpuGenerationMs?: number;
}

/** A process the bench started or targeted. */
export interface ProcessInfo {
  readonly id: string;
  readonly url: string;
  readonly pid?: number;
  readonly command?: readonly string[];
  readonly banner?: string;
  readonly notes?: string;
}

/** The whole report. */
export interface BenchReport {
  readonly formatVersion: 1;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly wallMs: number;
  readonly profile: string;
  readonly argv: readonly string[];
  readonly options: Record<string, unknown>;
  readonly machine: Record<string, unknown>;
  readonly packages: Record<string, string>;
  readonly git?: { readonly commit?: string; readonly dirty?: boolean };
  readonly target: ProcessInfo & {
    readonly spawned: boolean;
    readonly renderer?: string;
    readonly chunkBytes?: number;
    readonly maxBatchSize?: number;
  };
  readonly baselines: readonly ProcessInfo[];
  /** One line per row or baseline that could not run, and why. */
  readonly skipped: readonly {
    readonly row: string;
    readonly reason: string;
    /** Set when it should have run: counted in failures. */
    readonly failure?: boolean;
  }[];
  readonly results: readonly RowResult[];
  readonly generation: readonly GenerationCost[];
  readonly verdict: Verdict;
  readonly targets: readonly TargetCheck[];
  /** Whether baselines served the same bytes as the server under test (transport-only). */
  readonly sameBytes: readonly {
    readonly scenario: ScenarioId;
    readonly rowsDiffering: string[];
  }[];
  readonly failures: number;
}
