/**
 * An independent gRPC client: @grpc/grpc-js with the proof of concept's own
 * inference.proto (test/fixtures/proof-of-concept.proto) loaded at run time,
 * as a client generated from the original contract would be.
 */
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import type { ChunkLike } from "./helpers.js";

const seedProtoPath = new URL("fixtures/proof-of-concept.proto", import.meta.url).pathname;

interface SeedResponse {
  request_id: string;
  chunk_index: number;
  total_chunks: number;
  data: Buffer;
  metadata: Record<string, string>;
}

/** The seed's InferenceService stub, as grpc-js builds it. */
export interface SeedClient extends grpc.Client {
  StreamInference(request: {
    model_id: string;
    prompt: string;
    batch_size: number;
  }): grpc.ClientReadableStream<SeedResponse>;
}

type SeedClientConstructor = new (
  target: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => SeedClient;

/** Creates a grpc-js client for "host:port". */
export function createSeedClient(
  target: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  options: grpc.ChannelOptions = {},
): SeedClient {
  const definition = protoLoader.loadSync(seedProtoPath, { keepCase: true, defaults: true });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    modelmora: { InferenceService: SeedClientConstructor };
  };
  return new pkg.modelmora.InferenceService(target, credentials, options);
}

/** Calls StreamInference and collects the chunks; rejects with the grpc-js error. */
export function streamSeed(
  client: SeedClient,
  request: { model_id: string; prompt: string; batch_size: number },
): Promise<ChunkLike[]> {
  return new Promise((resolve, reject) => {
    const chunks: ChunkLike[] = [];
    const call = client.StreamInference(request);
    call.on("data", (res: SeedResponse) => {
      chunks.push({
        requestId: res.request_id,
        chunkIndex: res.chunk_index,
        totalChunks: res.total_chunks,
        data: res.data,
        metadata: res.metadata,
      });
    });
    call.on("error", reject);
    call.on("end", () => resolve(chunks));
  });
}
