/**
 * Turns what the clients recorded into the report's figures: distributions
 * (percentiles by linear interpolation, as tinybench computes them), the
 * proof of concept's single-request and load figures, bytes on the wire, server cost.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import type {
  Distribution,
  LoadFigures,
  ServerFigures,
  SingleFigures,
  UnaryFigures,
  WireFigures,
} from "./types.js";

/** What was read from the serving process over a span (a StatsWatch's result). */
export interface ServerReadings {
  /** CPU time over the span, ms. */
  readonly cpuMs?: number;
  /** The largest RSS seen, bytes. */
  readonly peakRssBytes?: number;
  /** The lifetime largest RSS at the end, bytes. */
  readonly maxRssBytes?: number;
}

/** One single-request iteration as measured. */
export interface SingleRecord {
  readonly totalMs: number;
  readonly firstChunkMs: number;
  readonly payloadBytes: number;
  readonly chunks: number;
  readonly chunksNominal: boolean;
}

/** One client's request within a load round. */
export interface ClientRecord {
  readonly totalMs: number;
  readonly firstChunkMs: number;
  readonly payloadBytes: number;
}

/** One load round as measured. */
export interface LoadRecord {
  readonly roundMs: number;
  readonly clients: number;
  readonly completed: number;
  readonly requests: readonly ClientRecord[];
}

/** MB as the proof of concept counts them: 10^6 bytes. */
export const bytesPerMB = 1e6;

/** Percentile p (0-100) of sorted samples, interpolating linearly. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const lowValue = sorted[low] as number;
  return lowValue + ((sorted[high] as number) - lowValue) * (rank - low);
}

/** Summarizes samples. */
export function distribution(samples: readonly number[]): Distribution {
  const sorted = [...samples].sort((a, b) => a - b);
  const count = sorted.length;
  const mean = count === 0 ? Number.NaN : sorted.reduce((sum, x) => sum + x, 0) / count;
  const variance =
    count < 2 ? 0 : sorted.reduce((sum, x) => sum + (x - mean) ** 2, 0) / (count - 1);
  return {
    count,
    mean,
    min: sorted[0] ?? Number.NaN,
    max: sorted[count - 1] ?? Number.NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    sd: Math.sqrt(variance),
  };
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((sum, x) => sum + x, 0) / values.length;
}

/** The proof of concept's single-request figures, from every measured request. */
export function singleFigures(records: readonly SingleRecord[]): SingleFigures {
  const latency = distribution(records.map((r) => r.totalMs));
  const payloadBytes = mean(records.map((r) => r.payloadBytes));
  const chunks = Math.round(mean(records.map((r) => r.chunks)));
  return {
    totalMs: latency.mean,
    payloadBytes,
    throughputMBps: payloadBytes / bytesPerMB / (latency.mean / 1000),
    avgChunkLatencyMs: latency.mean / chunks,
    chunks,
    chunksNominal: records[0]?.chunksNominal ?? false,
    firstChunk: distribution(records.map((r) => r.firstChunkMs)),
    latency,
  };
}

/** The proof of concept's load figures, from every measured round. */
export function loadFigures(records: readonly LoadRecord[]): LoadFigures {
  const requests = records.flatMap((r) => r.requests);
  const latency = distribution(records.map((r) => r.roundMs));
  const totalBytes = mean(
    records.map((r) => r.requests.reduce((sum, q) => sum + q.payloadBytes, 0)),
  );
  return {
    clients: records[0]?.clients ?? 0,
    clientsCompleted: Math.min(...records.map((r) => r.completed)),
    totalMs: latency.mean,
    totalBytes,
    avgClientMBps: mean(requests.map((q) => q.payloadBytes / bytesPerMB / (q.totalMs / 1000))),
    aggregateMBps: totalBytes / bytesPerMB / (latency.mean / 1000),
    clientLatency: distribution(requests.map((q) => q.totalMs)),
    firstChunk: distribution(requests.map((q) => q.firstChunkMs)),
    latency,
  };
}

/** Unary figures from tinybench's samples. */
export function unaryFigures(samples: readonly number[]): UnaryFigures {
  const latency = distribution(samples);
  return { callsPerSecond: 1000 / latency.mean, latency };
}

/** Bytes on the wire per request. */
export function wireFigures(
  requests: number,
  payloadBytes: number,
  bytesRead: number | undefined,
  bytesWritten: number | undefined,
  connections: number | undefined,
): WireFigures {
  const perRequest = (bytes: number | undefined) =>
    bytes === undefined || requests === 0 ? undefined : bytes / requests;
  const payloadBytesPerRequest = requests === 0 ? 0 : payloadBytes / requests;
  const bytesReadPerRequest = perRequest(bytesRead);
  return {
    bytesReadPerRequest,
    bytesWrittenPerRequest: perRequest(bytesWritten),
    payloadBytesPerRequest,
    overheadPercent:
      bytesReadPerRequest === undefined || payloadBytesPerRequest === 0
        ? undefined
        : (bytesReadPerRequest / payloadBytesPerRequest - 1) * 100,
    connections,
  };
}

/** The server's cost over the measured iterations. */
export function serverFigures(
  source: ServerFigures["source"],
  watch: ServerReadings | undefined,
  requests: number,
  payloadBytes: number,
): ServerFigures {
  if (watch === undefined) return { source: "none" };
  return {
    source,
    cpuMsPerRequest:
      watch.cpuMs === undefined || requests === 0 ? undefined : watch.cpuMs / requests,
    cpuMsPerMB:
      watch.cpuMs === undefined || payloadBytes === 0
        ? undefined
        : watch.cpuMs / (payloadBytes / bytesPerMB),
    peakRssBytes: watch.peakRssBytes,
    maxRssBytes: watch.maxRssBytes,
  };
}
