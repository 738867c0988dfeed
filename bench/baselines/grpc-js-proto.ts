/**
 * Loads proto/modelmora/inference.proto for @grpc/grpc-js with
 * @grpc/proto-loader, the way a Node gRPC user would: field names as in the
 * proto (keepCase), int64 as strings, bytes as Buffer.
 *
 * Library module of `npm run bench` (used by the grpc-js baseline server and
 * the grpc-js client); reads no flags or environment.
 */
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

/** Path of the service's proto file. */
export const protoPath = fileURLToPath(
  new URL("../../proto/modelmora/inference.proto", import.meta.url),
);

/** The InferenceService constructor and service definition as grpc-js sees them. */
export interface GrpcJsInferenceService {
  new (
    address: string,
    credentials: grpc.ChannelCredentials,
    options?: grpc.ChannelOptions,
  ): grpc.Client;
  service: grpc.ServiceDefinition;
}

/** One InferenceResponse as proto-loader decodes it. */
export interface GrpcJsInferenceResponse {
  request_id: string;
  chunk_index: number;
  total_chunks: number;
  data: Buffer;
  metadata: Record<string, string>;
}

let loadedService: GrpcJsInferenceService | undefined;

/** Loads the proto (once per process) and returns modelmora.InferenceService. */
export function loadInferenceService(): GrpcJsInferenceService {
  if (loadedService !== undefined) {
    return loadedService;
  }
  const definition = protoLoader.loadSync(protoPath, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    modelmora: { InferenceService: GrpcJsInferenceService };
  };
  loadedService = loaded.modelmora.InferenceService;
  return loadedService;
}
