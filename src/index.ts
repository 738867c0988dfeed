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
// The image generator and models, for tools that serve the server's exact
// images (the benchmark's baseline servers) and the metadata each chunk carries.
export {
  createImageGenerator,
  defaultCacheBytes,
  findModel,
  type GeneratedImage,
  generateBatch,
  type ImageGenerator,
  type ImageGeneratorOptions,
  type LoadRendererOptions,
  loadRenderer,
  type ModelProfile,
  modelProfiles,
  type Renderer,
  type RendererName,
} from "./imaging/index.js";
export { createRandom, type Random } from "./imaging/random.js";
export { imageMetadata } from "./server/image-chunks.js";
export { createServer, type ModelMoraServer, type ServerOptions } from "./server/index.js";
