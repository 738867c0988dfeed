/**
 * The shape of a bench run's figures: what bench-<timestamp>.json holds and
 * what every report renders. Units are in the names; MB is 10^6 bytes, as
 * in the proof of concept.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import type { Mode, ScenarioId } from "../cli/index.js";
import type { Ratio, Spread } from "./spread.js";

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

/** Figures of an open-loop run: requests started on a schedule. */
export interface OpenLoopFigures {
  /** Offered load, requests per second. */
  readonly rateRps: number;
  /** How long requests were started for, ms. */
  readonly durationMs: number;
  readonly scheduled: number;
  readonly completed: number;
  readonly failed: number;
  /** Completed requests per second of elapsed time. */
  readonly achievedRps: number;
  /** Latency from each request's scheduled start to its last byte, ms. */
  readonly latency: Distribution;
  /** The most a request started behind its schedule: the client's own lag, ms. */
  readonly maxStartLagMs: number;
  /** The most requests in flight at once. */
  readonly maxInFlight: number;
  /** Scheduling stopped: too many requests in flight (the server did not keep up at all). */
  readonly overloaded: boolean;
}

/** One round of a row: its figures over that round alone. */
export interface RoundFigures {
  /** Measured iterations (requests, load rounds or calls) in the round. */
  readonly iterations: number;
  /** Client requests in the round (iterations × clients for load). */
  readonly requests: number;
  /** Image bytes received in the round. */
  readonly payloadBytes: number;
  /** Sum of the iterations' timed parts, ms. */
  readonly timedMs: number;
  /** The round's headline: MB/s (payload / timed), or calls/s for unary. */
  readonly headline: number;
  /** The serving process's CPU over the round, ms. */
  readonly serverCpuMs?: number;
  /** The bench's own CPU over the round (verification left out), ms. */
  readonly clientCpuMs?: number;
  /** Largest server RSS seen in the round, bytes. */
  readonly peakRssBytes?: number;
}

/** A step of a sweep or of the open-loop scenario. */
export type Step =
  | { readonly kind: "payload"; readonly model: string }
  | {
      readonly kind: "concurrency";
      readonly streams: number;
      readonly connections: "shared" | "per-client";
    }
  | { readonly kind: "open-loop"; readonly workload: "small" | "unary"; readonly rateRps: number };

/** A ratio of two rows' figures, flagged when it cannot be trusted. */
export interface RatioFigure extends Ratio {
  /**
   * The row beat its own bare ceiling by more than the spread: the machine
   * was busy or the baseline under-ran, so the ratio is not a result.
   */
  readonly suspect?: boolean;
}

/**
 * Sizes of the same messages in protobuf and in JSON, as the server sent
 * them (bytes of the message body, without HTTP or envelope framing).
 */
export interface MessageSizes {
  /** The ListModels answer: Connect binary, Connect JSON, and REST's GET /v1/models. */
  readonly listModels: {
    readonly protobufBytes: number;
    readonly jsonBytes: number;
    readonly restBytes?: number;
  };
  /** The first StreamInference message (image chunk) of the model below. */
  readonly chunk: {
    readonly model: string;
    /** Bytes of its data field. */
    readonly dataBytes: number;
    readonly protobufBytes: number;
    readonly jsonBytes: number;
    /** The same message with an empty data field: the chunk's metadata alone (encoded here with protobuf-es). */
    readonly metadataProtobufBytes: number;
    readonly metadataJsonBytes: number;
  };
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
  /** Which step of a sweep (or of the open-loop scenario) this is; undefined elsewhere. */
  readonly step?: Step;
  /** Measured iterations over every round (tinybench samples). */
  readonly iterations: number;
  /** Each round's figures, in the order they ran. */
  readonly rounds?: readonly RoundFigures[];
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
  readonly openLoop?: OpenLoopFigures;
  readonly wire?: WireFigures;
  readonly server?: ServerFigures;
  /** The bench process's own CPU time (user+system) per request, ms: shows when the client is the bottleneck. */
  readonly clientCpuMsPerRequest?: number;
  /**
   * The headline figure, the median of the rounds' headlines: MB/s (single,
   * small, payload), aggregate MB/s (load, memory, concurrency), calls/s
   * (unary), completed requests per second (open loop).
   */
  readonly headline?: number;
  readonly headlineUnit?: "MB/s" | "calls/s" | "requests/s";
  /** The headline's spread over the rounds. */
  readonly spread?: Spread;
  /** CPU per MB of payload over the rounds, ms: the server's and the client's. */
  readonly cpuPerMB?: { readonly server?: Spread; readonly client?: Spread };
  /** headline / the reference rows' headline in the same scenario, mode and step. */
  readonly ratios?: {
    /** vs bare Node of the same HTTP version. */
    readonly bare?: RatioFigure;
    readonly bareRow?: string;
    /** vs the grpc-js server (with the connect-node gRPC client). */
    readonly grpcJs?: RatioFigure;
  };
  /** tinybench's own summary of the task, per round. */
  readonly tinybench?: readonly {
    readonly state: string;
    readonly samples: number;
    readonly meanMs?: number;
    readonly p50Ms?: number;
    readonly p99Ms?: number;
    readonly rmePercent?: number;
  }[];
  /** Every measured sample over the rounds, ms (µs precision). */
  readonly samplesMs?: readonly number[];
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
