/**
 * The ModelMora server: one port, every protocol. createServer builds it;
 * listen() starts it; close() drains it.
 */
export { createServer, type Logger, type ModelMoraServer } from "./create-server.js";
export { createHealthState, type HealthState } from "./health-service.js";
export { chunksOf, type ImageChunk, imageMetadata } from "./image-chunks.js";
export {
  defaultInferenceLimits,
  type InferenceLimits,
  validateInferenceRequest,
} from "./inference-request.js";
export {
  createInferenceService,
  type InferenceServiceImpl,
  type InferenceServiceOptions,
} from "./inference-service.js";
export type { TlsOptions } from "./listener.js";
export { type Readiness, type ServerOptions, serverDefaults } from "./server-options.js";
