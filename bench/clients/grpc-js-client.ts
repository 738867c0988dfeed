/**
 * Bench client built on @grpc/grpc-js, the standard Node gRPC client, with
 * its flow-control window set to windowBytes (channel option
 * grpc-node.flow_control_window) so it reads as fast as the other h2 clients.
 * grpc-js opens its sockets itself, so its bytes on the wire can't be
 * counted (reported as n/a).
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import * as grpc from "@grpc/grpc-js";
import { type GrpcJsInferenceResponse, loadInferenceService } from "../baselines/grpc-js-proto.js";
import { type HashingMode, ImageAssembler, VerificationError } from "../verify/index.js";
import type { BenchClient, StreamCall, StreamOutcome } from "./types.js";

/** Options for createGrpcJsBenchClient. */
export interface GrpcJsBenchClientOptions {
  baseUrl: string;
  /** HTTP/2 stream and connection window in bytes. */
  windowBytes: number;
}

type StreamMethod = (request: unknown) => grpc.ClientReadableStream<GrpcJsInferenceResponse>;
type UnaryMethod = (
  request: unknown,
  callback: (error: grpc.ServiceError | null, response?: { models?: unknown[] }) => void,
) => void;

/** Creates one grpc-js client: one channel, one connection. */
export function createGrpcJsBenchClient(options: GrpcJsBenchClientOptions): BenchClient {
  const Service = loadInferenceService();
  const client = new Service(new URL(options.baseUrl).host, grpc.credentials.createInsecure(), {
    "grpc-node.flow_control_window": options.windowBytes,
    "grpc.max_receive_message_length": -1,
    // Each client is its own connection, as with the other protocols.
    "grpc.use_local_subchannel_pool": 1,
  });
  const methods = client as unknown as { StreamInference: StreamMethod; ListModels: UnaryMethod };

  return {
    sockets: undefined,
    close: () => client.close(),
    stream(call: StreamCall, hashing: HashingMode): Promise<StreamOutcome> {
      const assembler = new ImageAssembler(call.batchSize, hashing);
      const started = performance.now();
      let firstChunkMs = -1;
      let chunks = 0;
      return new Promise((resolve, reject) => {
        const stream = methods.StreamInference.call(client, {
          model_id: call.modelId,
          prompt: call.prompt,
          batch_size: call.batchSize,
        });
        stream.on("data", (response: GrpcJsInferenceResponse) => {
          if (firstChunkMs < 0) {
            firstChunkMs = performance.now() - started;
          }
          chunks++;
          try {
            const metadata = response.metadata;
            const index = Number(metadata.image_index);
            assembler.declare(index, Number(metadata.image_bytes), metadata.image_sha256);
            assembler.add(index, response.data, Number(metadata.chunk_offset));
          } catch (err) {
            stream.cancel();
            reject(err);
          }
        });
        stream.once("error", reject);
        stream.once("end", () =>
          resolve({
            firstChunkMs,
            totalMs: performance.now() - started,
            payloadBytes: assembler.receivedBytes,
            chunks,
            chunksNominal: false,
            assembler,
          }),
        );
      });
    },
    unary(): Promise<void> {
      return new Promise((resolve, reject) => {
        methods.ListModels.call(client, {}, (error, response) => {
          if (error !== null) {
            reject(error);
          } else if ((response?.models?.length ?? 0) === 0) {
            reject(new VerificationError("ListModels answered with no models"));
          } else {
            resolve();
          }
        });
      });
    },
  };
}
