import { createHash } from "node:crypto";
import type { ModelProfile } from "./models.js";
import { createRandom } from "./random.js";
import type { Renderer, Surface } from "./renderer.js";

/** One generated PNG image. */
export interface GeneratedImage {
  readonly modelId: string;
  readonly index: number;
  readonly widthPx: number;
  readonly heightPx: number;
  /** The PNG file. */
  readonly png: Buffer;
  /** Hex SHA-256 of png. */
  readonly sha256: string;
  /** Milliseconds spent drawing and encoding it; 0 when it came from the cache. */
  readonly renderMs: number;
  /** Whether it came from the cache (or from a render another call started). */
  readonly cached: boolean;
}

/** Draws and encodes images, reusing canvases. */
export interface ImageDrawer {
  /** Draws image `index` of (model, prompt) and encodes it as PNG. */
  draw(model: ModelProfile, prompt: string, index: number): Promise<GeneratedImage>;
}

/**
 * Creates a drawer. Idle canvases are kept by size: a render takes one and
 * gives it back, so the server holds at most one canvas per concurrent
 * render and size instead of allocating (and leaving to the garbage
 * collector) about 8 MB of pixels for every 1000×1000 image.
 */
export function createImageDrawer(renderer: Renderer): ImageDrawer {
  const idleSurfaces = new Map<string, Surface[]>();
  return {
    async draw(model, prompt, index) {
      const size = `${model.widthPx}x${model.heightPx}`;
      const surface =
        idleSurfaces.get(size)?.pop() ?? renderer.createSurface(model.widthPx, model.heightPx);
      try {
        const started = performance.now();
        // A reused canvas starts from the same state as a new one.
        surface.context.globalAlpha = 1;
        surface.context.fillStyle = "black";
        surface.context.fillRect(0, 0, model.widthPx, model.heightPx);
        const random = createRandom(model.id, prompt, index);
        model.draw(surface.context, random, model.widthPx, model.heightPx);
        const png = await surface.encodePng(model.compressionLevel);
        return {
          modelId: model.id,
          index,
          widthPx: model.widthPx,
          heightPx: model.heightPx,
          png,
          sha256: createHash("sha256").update(png).digest("hex"),
          renderMs: performance.now() - started,
          cached: false,
        };
      } finally {
        const idle = idleSurfaces.get(size) ?? [];
        idle.push(surface);
        idleSurfaces.set(size, idle);
      }
    },
  };
}
