/**
 * Bench client for the Connect family (gRPC, gRPC-Web, Connect binary,
 * Connect JSON), built with the project's createInferenceClient so it uses
 * the settings the project recommends to its users (16 MiB HTTP/2 windows
 * unless --window-bytes says otherwise).
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import { createInferenceClient, type ProtocolName } from "../../src/index.js";
import { type HashingMode, ImageAssembler, VerificationError } from "../verify/index.js";
import { SocketCounter } from "./connections.js";
import type { BenchClient, ExtraHeaders, StreamCall, StreamOutcome } from "./types.js";

/** Options for createConnectBenchClient. */
export interface ConnectBenchClientOptions {
  baseUrl: string;
  protocol: ProtocolName;
  httpVersion: "1.1" | "2";
  /** HTTP/2 stream and connection window in bytes; see createInferenceClient. */
  windowBytes: number;
  headers?: ExtraHeaders;
}

/** Creates one client (one HTTP/2 session, or one HTTP/1.1 keep-alive agent). */
export function createConnectBenchClient(options: ConnectBenchClientOptions): BenchClient {
  const sockets = new SocketCounter();
  const { client, close } = createInferenceClient({
    baseUrl: options.baseUrl,
    protocol: options.protocol,
    httpVersion: options.httpVersion,
    windowBytes: options.windowBytes,
    headers: options.headers === undefined ? undefined : { ...options.headers },
    onSocket: sockets.track,
  });

  return {
    sockets,
    close,
    async stream(call: StreamCall, hashing: HashingMode): Promise<StreamOutcome> {
      const assembler = new ImageAssembler(call.batchSize, hashing);
      const started = performance.now();
      let firstChunkMs = -1;
      let chunks = 0;
      for await (const response of client.streamInference(call)) {
        if (firstChunkMs < 0) {
          firstChunkMs = performance.now() - started;
        }
        chunks++;
        const metadata = response.metadata;
        const index = Number(metadata.image_index);
        assembler.declare(index, Number(metadata.image_bytes), metadata.image_sha256);
        assembler.add(index, response.data, Number(metadata.chunk_offset));
      }
      const totalMs = performance.now() - started;
      return {
        firstChunkMs,
        totalMs,
        payloadBytes: assembler.receivedBytes,
        chunks,
        chunksNominal: false,
        assembler,
      };
    },
    async unary(): Promise<void> {
      const response = await client.listModels({});
      if (response.models.length === 0) {
        throw new VerificationError("ListModels answered with no models");
      }
    },
  };
}
