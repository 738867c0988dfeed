export { type GenerateBatchOptions, generateBatch } from "./generate-batch.js";
export {
  createImageGenerator,
  defaultCacheBytes,
  type GeneratedImage,
  type ImageGenerator,
  type ImageGeneratorOptions,
  imageKey,
} from "./image-generator.js";
export { findModel, type ModelProfile, modelProfiles } from "./models.js";
export { createRenderQueue, type RenderQueue, type RenderQueueOptions } from "./render-queue.js";
export {
  type LoadRendererOptions,
  loadRenderer,
  type Renderer,
  type RendererName,
} from "./renderer.js";
