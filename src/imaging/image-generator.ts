import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import { LRUCache } from "lru-cache";
import type { ModelProfile } from "./models.js";
import { createRandom } from "./random.js";
import { createRenderQueue } from "./render-queue.js";
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
  /**
   * How many renders may wait for a slot across all calls; past it,
   * generate() refuses with RESOURCE_EXHAUSTED. Default 64.
   */
  maxQueuedRenders?: number;
  /**
   * Called with every image drawn (cached false) and every image served from
   * the cache or from another call's render (cached true); for metrics.
   */
  onImage?: (image: GeneratedImage) => void;
}

/** Draws images deterministically, with a cache and a bounded render queue. */
export interface ImageGenerator {
  readonly rendererName: string;
  /**
   * Returns image `index` of the batch for (model, prompt). The same
   * arguments always give the same bytes. Calls for an image being drawn
   * share its render. When `signal` aborts, the call rejects with its
   * reason: at once if the render had not started (it is dropped when no
   * other call waits for it), else once the render has finished (a canvas
   * can't be stopped half-way), so a caller that awaits it knows its work
   * is gone.
   */
  generate(
    model: ModelProfile,
    prompt: string,
    index: number,
    signal?: AbortSignal,
  ): Promise<GeneratedImage>;
  /** Whether a render could be queued now; new streams are refused when not. */
  hasRenderRoom(): boolean;
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

/** A render, shared by every call that asked for its image. */
interface Pending {
  readonly render: Promise<GeneratedImage>;
  /** Aborted when the last call waiting for it gives up before it starts. */
  readonly abandon: AbortController;
  waiters: number;
}

/** The cache key of an image. */
export function imageKey(model: ModelProfile, prompt: string, index: number): string {
  return `${model.id}\u0000${index}\u0000${prompt}`;
}

/** Creates an image generator. */
export function createImageGenerator(options: ImageGeneratorOptions): ImageGenerator {
  const { renderer } = options;
  const cacheBytes = options.cacheBytes ?? defaultCacheBytes;
  // lru-cache holds the drawn images, bounded by their total size. Its own
  // fetch() de-duplication is not used: a shared fetch is aborted by its
  // first caller's signal, while a render here must go on for as long as
  // any caller still waits for it.
  const cache =
    cacheBytes > 0
      ? new LRUCache<string, GeneratedImage>({
          maxSize: cacheBytes,
          sizeCalculation: (image) => Math.max(1, image.png.byteLength),
        })
      : undefined;
  const inFlight = new Map<string, Pending>();
  const queue = createRenderQueue({
    concurrency: options.maxConcurrentRenders ?? availableParallelism(),
    maxQueued: options.maxQueuedRenders ?? 64,
  });

  // Idle canvases by size. A render takes one and gives it back, so the
  // server holds at most one canvas per concurrent render and size instead
  // of allocating (and leaving to the garbage collector) about 8 MB of
  // pixels for every 1000×1000 image.
  const idleSurfaces = new Map<string, Surface[]>();

  async function render(model: ModelProfile, prompt: string, index: number) {
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
      options.onImage?.(image);
      return image;
    } finally {
      const idle = idleSurfaces.get(size) ?? [];
      idle.push(surface);
      idleSurfaces.set(size, idle);
    }
  }

  function start(key: string, model: ModelProfile, prompt: string, index: number): Pending {
    const abandon = new AbortController();
    const pending: Pending = {
      abandon,
      waiters: 0,
      render: queue
        .run(() => render(model, prompt, index), abandon.signal)
        .then(
          (image) => {
            inFlight.delete(key);
            cache?.set(key, image);
            return image;
          },
          (err: unknown) => {
            inFlight.delete(key);
            throw err;
          },
        ),
    };
    // A render nobody waits for any more must not surface as an unhandled
    // rejection; callers see failures through their own promise.
    pending.render.catch(() => {});
    inFlight.set(key, pending);
    return pending;
  }

  function wait(pending: Pending, shared: boolean, signal: AbortSignal | undefined) {
    pending.waiters += 1;
    const served = (image: GeneratedImage) => {
      if (!shared) return image;
      const copy = { ...image, cached: true, renderMs: 0 };
      options.onImage?.(copy);
      return copy;
    };
    if (signal === undefined) {
      return pending.render.then(served);
    }
    return new Promise<GeneratedImage>((resolve, reject) => {
      const onAbort = () => {
        pending.waiters -= 1;
        // The last waiter gone: a queued render is dropped (its promise
        // rejects at once); a running one ends in its own time.
        if (pending.waiters === 0) pending.abandon.abort(signal.reason);
        pending.render.then(
          () => reject(signal.reason),
          () => reject(signal.reason),
        );
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener("abort", onAbort, { once: true });
      pending.render.then(
        (image) => {
          signal.removeEventListener("abort", onAbort);
          resolve(served(image));
        },
        (err: unknown) => {
          signal.removeEventListener("abort", onAbort);
          reject(err);
        },
      );
    });
  }

  return {
    rendererName: renderer.name,
    generate(model, prompt, index, signal) {
      const key = imageKey(model, prompt, index);
      const hit = cache?.get(key);
      if (hit !== undefined) {
        const image = { ...hit, cached: true, renderMs: 0 };
        options.onImage?.(image);
        return Promise.resolve(image);
      }
      const running = inFlight.get(key);
      return running !== undefined
        ? wait(running, true, signal)
        : wait(start(key, model, prompt, index), false, signal);
    },
    hasRenderRoom: () => queue.hasRoom(),
    cacheStats: () => ({ entries: cache?.size ?? 0, bytes: cache?.calculatedSize ?? 0 }),
    renderStats: () => ({ running: queue.running, queued: queue.queued }),
  };
}
