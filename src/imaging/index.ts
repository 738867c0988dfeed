export {
  createImageGenerator,
  defaultCacheBytes,
  type GeneratedImage,
  generateBatch,
  type ImageGenerator,
  type ImageGeneratorOptions,
} from "./image-generator.js";
export { findModel, type ModelProfile, modelProfiles } from "./models.js";
export {
  type LoadRendererOptions,
  loadRenderer,
  type Renderer,
  type RendererName,
} from "./renderer.js";
