/**
 * What every bench client offers, whatever protocol it speaks: one
 * StreamInference-like call that streams a batch of images and is verified,
 * one small unary call, and the bytes it read from its sockets.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import type { HashingMode, Verifiable } from "../verify/index.js";

/** The request every protocol carries: InferenceRequest's three fields. */
export interface StreamCall {
  readonly modelId: string;
  readonly prompt: string;
  readonly batchSize: number;
}

/** What one streaming call measured. Timing stops at the last byte, before verification. */
export interface StreamOutcome {
  /** Milliseconds from the call to its first payload byte. */
  readonly firstChunkMs: number;
  /** Milliseconds from the call to the end of the response. */
  readonly totalMs: number;
  /** Image bytes received. */
  readonly payloadBytes: number;
  /**
   * Chunks: messages received for RPC protocols; for byte streams (REST,
   * bare baselines), the server's writes of chunkBytes, counted from the
   * image sizes (`chunksNominal`).
   */
  readonly chunks: number;
  readonly chunksNominal: boolean;
  /**
   * Holds what arrived until the caller verifies it with finish(), after the
   * timed part. An ImageAssembler for the bench's own clients; a client that
   * checks elsewhere (a subprocess, a browser page) returns what it checked.
   */
  readonly assembler: Verifiable;
}

/**
 * One client: one connection (HTTP/2) or one keep-alive agent (HTTP/1.1).
 * A client stack driven from another process implements the same
 * interface, forwarding each call to that process.
 */
export interface BenchClient {
  /** Streams call's images. Rejects on any protocol or verification error. */
  stream(call: StreamCall, hashing: HashingMode): Promise<StreamOutcome>;
  /** A small unary call (ListModels or its equivalent); rejects unless the answer lists models. */
  unary(): Promise<void>;
  /**
   * The same call, timed by the client itself, ms: for a client that runs in
   * another process (a Python one), whose pipe would otherwise count.
   */
  timedUnary?(): Promise<number>;
  /** Bytes read from this client's sockets, or undefined where they can't be counted. */
  readonly sockets: SocketCounts | undefined;
  /** Closes the client's connections. */
  close(): void;
}

/** Bytes a client's connections carried so far (SocketCounter for the bench's own clients). */
export interface SocketCounts {
  /** Bytes read from every socket, closed ones included. */
  bytesRead(): number;
  /** Bytes written to every socket. */
  bytesWritten(): number;
  /** TCP connections opened. */
  readonly connections: number;
}

/** Headers sent to the server under test (auth flags); baselines ignore them. */
export type ExtraHeaders = Readonly<Record<string, string>>;

/** Chunks a server writes for images of these sizes, cut at chunkBytes. */
export function nominalChunks(imageBytes: readonly number[], chunkBytes: number): number {
  let chunks = 0;
  for (const bytes of imageBytes) {
    chunks += Math.max(1, Math.ceil(bytes / chunkBytes));
  }
  return chunks;
}
