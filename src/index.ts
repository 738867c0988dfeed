/**
 * ModelMora: the server and its TypeScript client.
 *
 *   import { createInferenceClient } from "modelmora";
 *   const { client } = createInferenceClient({ baseUrl: "http://localhost:8080", protocol: "grpc" });
 */
// First: protobuf-es reads the base64 methods when it loads.
import "./base64-polyfill.js";

export * from "./client/index.js";
export * from "./gen/grpc/health/v1/health_pb.js";
export * from "./gen/modelmora/inference_pb.js";
export { createServer, type ModelMoraServer, type ServerOptions } from "./server/index.js";
