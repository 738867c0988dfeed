/** A call summary to feed the logger and the metrics in unit tests. */
import type { CallSummary } from "../../src/observability/index.js";
import { streamMethodOf } from "./protocols.js";

/** A successful gRPC StreamInference over HTTP/2 that sent 1234 bytes, with overrides. */
export function callSummary(overrides: Partial<CallSummary> = {}): CallSummary {
  return {
    protocol: "grpc",
    httpVersion: "2",
    method: streamMethodOf("grpc"),
    code: "ok",
    bytesSent: 1234,
    durationMs: 12.3456789,
    firstChunkMs: 4.5,
    ...overrides,
  };
}
