/**
 * ModelMora: the server and its TypeScript client.
 *
 *   import { createInferenceClient } from "modelmora";
 *   const { client, close } = createInferenceClient({ baseUrl: "http://localhost:8080", protocol: "grpc" });
 *   for await (const image of client.streamImages({ modelId: "noise-1000", batchSize: 3 })) {
 *     image.index, image.bytes, image.sha256, image.width, image.height
 *   }
 *   close();
 */
// First: protobuf-es reads the base64 methods when it loads.
import "./base64-polyfill.js";

export * from "./client/index.js";
export * from "./gen/grpc/health/v1/health_pb.js";
export * from "./gen/modelmora/inference_pb.js";
export { createServer, type ModelMoraServer, type ServerOptions } from "./server/index.js";
