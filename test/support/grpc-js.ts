/**
 * Independent gRPC clients: @grpc/grpc-js with protos loaded at run time by
 * @grpc/proto-loader, as a Node gRPC user would. The inference client uses
 * the proof of concept's own inference.proto
 * (test/fixtures/proof-of-concept.proto), so it proves a client generated
 * from the original contract works; the health client uses
 * proto/grpc/health/v1/health.proto.
 */
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import type { ChunkLike } from "./images.js";

/** The proof of concept's inference.proto, as its design document gives it. */
export const proofOfConceptProtoPath = fileURLToPath(
  new URL("../fixtures/proof-of-concept.proto", import.meta.url),
);

const healthProtoPath = fileURLToPath(
  new URL("../../proto/grpc/health/v1/health.proto", import.meta.url),
);

/** Loads a proto with field names as written (keepCase), enums as strings, defaults filled in. */
function loadProto(path: string): grpc.GrpcObject {
  const definition = protoLoader.loadSync(path, {
    keepCase: true,
    enums: String,
    defaults: true,
  });
  return grpc.loadPackageDefinition(definition);
}

type ClientConstructor<C> = new (
  target: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => C;

/** A StreamInference request in the proto's field names. */
export interface GrpcJsRequest {
  model_id: string;
  prompt: string;
  batch_size: number;
}

/** One InferenceResponse as proto-loader decodes it. */
interface GrpcJsResponse {
  request_id: string;
  chunk_index: number;
  total_chunks: number;
  data: Buffer;
  metadata: Record<string, string>;
}

/** The proof of concept's InferenceService stub, as grpc-js builds it. */
export interface GrpcJsInferenceClient extends grpc.Client {
  StreamInference(
    request: GrpcJsRequest,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<GrpcJsResponse>;
}

/** Creates a grpc-js InferenceService client for "host:port" (cleartext unless told). */
export function createGrpcJsClient(
  target: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  options: grpc.ChannelOptions = {},
): GrpcJsInferenceClient {
  const pkg = loadProto(proofOfConceptProtoPath) as unknown as {
    modelmora: { InferenceService: ClientConstructor<GrpcJsInferenceClient> };
  };
  return new pkg.modelmora.InferenceService(target, credentials, options);
}

/** The chunk as the other clients see it. */
function chunkFromGrpcJs(res: GrpcJsResponse): ChunkLike {
  return {
    requestId: res.request_id,
    chunkIndex: res.chunk_index,
    totalChunks: res.total_chunks,
    data: res.data,
    metadata: res.metadata,
  };
}

/** Calls StreamInference and collects the chunks; rejects with the grpc-js error. */
export function streamGrpcJs(
  client: GrpcJsInferenceClient,
  request: GrpcJsRequest,
): Promise<ChunkLike[]> {
  return new Promise((resolve, reject) => {
    const chunks: ChunkLike[] = [];
    const call = client.StreamInference(request);
    call.on("data", (res: GrpcJsResponse) => chunks.push(chunkFromGrpcJs(res)));
    call.on("error", reject);
    call.on("end", () => resolve(chunks));
  });
}

/** grpc.health.v1.Health as grpc-js builds it. */
export interface GrpcJsHealthClient extends grpc.Client {
  Check(
    request: { service: string },
    callback: (error: grpc.ServiceError | null, response?: { status: string }) => void,
  ): void;
  Watch(request: { service: string }): grpc.ClientReadableStream<{ status: string }>;
}

/** A grpc-js Health client for a server's URL ("http://host:port"). */
export function createGrpcJsHealthClient(url: string): GrpcJsHealthClient {
  const pkg = loadProto(healthProtoPath) as unknown as {
    grpc: { health: { v1: { Health: ClientConstructor<GrpcJsHealthClient> } } };
  };
  return new pkg.grpc.health.v1.Health(
    url.replace("http://", ""),
    grpc.credentials.createInsecure(),
  );
}

/** Calls Health/Check; resolves with the error or the status name. */
export function grpcJsHealthCheck(
  client: GrpcJsHealthClient,
  service: string,
): Promise<{ error: grpc.ServiceError | null; status?: string }> {
  return new Promise((resolve) => {
    client.Check({ service }, (error, response) => resolve({ error, status: response?.status }));
  });
}
