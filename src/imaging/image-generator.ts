import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import { createByteBoundedCache } from "./image-cache.js";
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

/** Options for createImageGenerator. */
export interface ImageGeneratorOptions {
  renderer: Renderer;
  /**
   * Budget of the in-memory cache of generated images, in bytes. Repeated
   * requests for the same (model, prompt, index) are served from it without
   * drawing again. 0 turns the cache off. Default 64 MiB.
   */
  cacheBytes?: number;
  /**
   * How many images may be drawn and encoded at once across all calls.
   * Encoding runs on libuv's thread pool; more renders than cores only adds
   * memory. Default: the number of CPUs.
   */
  maxConcurrentRenders?: number;
  /** Called with every image generate() returns, drawn or cached; for metrics. */
  onImage?: (image: GeneratedImage) => void;
}

/** Draws images deterministically, with a cache and bounded concurrency. */
export interface ImageGenerator {
  readonly rendererName: string;
  /**
   * Returns image `index` of the batch for (model, prompt). The same
   * arguments always give the same bytes.
   */
  generate(model: ModelProfile, prompt: string, index: number): Promise<GeneratedImage>;
  /** Cache occupancy, for health and metrics. */
  cacheStats(): { entries: number; bytes: number };
  /**
   * Renders now drawing or encoding (`running`) and waiting for a slot
   * (`queued`), for metrics and for tests that wait until nothing is drawn.
   */
  renderStats(): { running: number; queued: number };
}

/** Default cache budget: 64 MiB, about 21 noise-1000 images. */
export const defaultCacheBytes = 64 * 1024 * 1024;

/** Creates an image generator. */
export function createImageGenerator(options: ImageGeneratorOptions): ImageGenerator {
  const { renderer } = options;
  const cache = createByteBoundedCache<GeneratedImage>(options.cacheBytes ?? defaultCacheBytes);
  // Renders in progress, so concurrent calls for one image share one render.
  const inFlight = new Map<string, Promise<GeneratedImage>>();
  const limit = createSemaphore(options.maxConcurrentRenders ?? availableParallelism());

  // Idle canvases by size. A render takes one and gives it back, so the
  // server holds at most one canvas per concurrent render and size instead
  // of allocating (and leaving to the garbage collector) about 8 MB of
  // pixels for every 1000×1000 image.
  const idleSurfaces = new Map<string, Surface[]>();

  async function render(model: ModelProfile, prompt: string, index: number) {
    await limit.acquire();
    const size = `${model.widthPx}x${model.heightPx}`;
    const surface =
      idleSurfaces.get(size)?.pop() ?? renderer.createSurface(model.widthPx, model.heightPx);
    try {
      const started = performance.now();
      // A reused canvas starts from the same state as a new one.
      surface.context.globalAlpha = 1;
      surface.context.fillStyle = "black";
      surface.context.fillRect(0, 0, model.widthPx, model.heightPx);
      model.draw(
        surface.context,
        createRandom(model.id, prompt, index),
        model.widthPx,
        model.heightPx,
      );
      const png = await surface.encodePng(model.compressionLevel);
      const image: GeneratedImage = {
        modelId: model.id,
        index,
        widthPx: model.widthPx,
        heightPx: model.heightPx,
        png,
        sha256: createHash("sha256").update(png).digest("hex"),
        renderMs: performance.now() - started,
        cached: false,
      };
      return image;
    } finally {
      const idle = idleSurfaces.get(size) ?? [];
      idle.push(surface);
      idleSurfaces.set(size, idle);
      limit.release();
    }
  }

  const observe = (image: GeneratedImage): GeneratedImage => {
    options.onImage?.(image);
    return image;
  };

  return {
    rendererName: renderer.name,
    generate(model, prompt, index) {
      const key = `${model.id}\u0000${index}\u0000${prompt}`;
      const hit = cache.get(key);
      if (hit !== undefined) {
        return Promise.resolve(observe({ ...hit, cached: true, renderMs: 0 }));
      }
      const running = inFlight.get(key);
      if (running !== undefined) {
        return running.then((image) => observe({ ...image, cached: true, renderMs: 0 }));
      }
      const promise = render(model, prompt, index).then(
        (image) => {
          inFlight.delete(key);
          cache.set(key, image, image.png.byteLength);
          return observe(image);
        },
        (err: unknown) => {
          inFlight.delete(key);
          throw err;
        },
      );
      inFlight.set(key, promise);
      return promise;
    },
    cacheStats: () => ({ entries: cache.size, bytes: cache.sizeBytes }),
    renderStats: () => ({ running: limit.held, queued: limit.waiting }),
  };
}

/**
 * Yields the images of a batch in order, and none once `signal` aborts.
 * While the consumer holds image k, images up to k + lookahead + 1 may be
 * started: with the default lookahead of 1, two images are drawn in
 * parallel (on a 2-core machine, both cores) while the current one is sent,
 * which is what keeps an end-to-end stream's throughput above one core's
 * drawing speed. Memory per stream is bounded by the same number.
 */
export async function* generateBatch(
  generator: ImageGenerator,
  model: ModelProfile,
  prompt: string,
  count: number,
  signal: AbortSignal,
  lookahead = 1,
): AsyncGenerator<GeneratedImage> {
  const pending: Promise<GeneratedImage>[] = [];
  let next = 0;
  const startNext = () => {
    const promise = generator.generate(model, prompt, next++);
    // A render that fails after the consumer went away must not surface as
    // an unhandled rejection; the consumer sees failures through await.
    promise.catch(() => {});
    pending.push(promise);
  };
  while (next < count && pending.length <= lookahead) {
    startNext();
  }
  while (pending.length > 0) {
    signal.throwIfAborted();
    const image = await (pending.shift() as Promise<GeneratedImage>);
    if (next < count) {
      startNext();
    }
    yield image;
  }
}

interface Semaphore {
  acquire(): Promise<void>;
  release(): void;
  /** Permits taken now. */
  readonly held: number;
  /** Callers waiting for a permit. */
  readonly waiting: number;
}

function createSemaphore(permits: number): Semaphore {
  const total = Math.max(1, permits);
  let available = total;
  const waiting: (() => void)[] = [];
  return {
    get held() {
      return total - available;
    },
    get waiting() {
      return waiting.length;
    },
    acquire() {
      if (available > 0) {
        available--;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => waiting.push(resolve));
    },
    release() {
      const wake = waiting.shift();
      if (wake) {
        wake();
      } else {
        available++;
      }
    },
  };
}
