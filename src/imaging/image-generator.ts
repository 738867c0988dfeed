import { availableParallelism } from "node:os";
import { LRUCache } from "lru-cache";
import { createImageDrawer, type GeneratedImage } from "./draw-image.js";
import type { ModelProfile } from "./models.js";
import { createRenderQueue } from "./render-queue.js";
import type { Renderer } from "./renderer.js";

export type { GeneratedImage } from "./draw-image.js";

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
  const drawer = createImageDrawer(options.renderer);
  const onImage = options.onImage ?? (() => {});

  function start(key: string, model: ModelProfile, prompt: string, index: number): Pending {
    const abandon = new AbortController();
    // A later render of the same image may have taken this one's place.
    const forget = () => {
      if (inFlight.get(key) === pending) inFlight.delete(key);
    };
    const render = queue.run(async () => {
      const image = await drawer.draw(model, prompt, index);
      onImage(image);
      return image;
    }, abandon.signal);
    const pending: Pending = {
      abandon,
      waiters: 0,
      render: render.then(
        (image) => {
          forget();
          cache?.set(key, image);
          return image;
        },
        (err: unknown) => {
          forget();
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

  return {
    rendererName: options.renderer.name,
    generate(model, prompt, index, signal) {
      const key = imageKey(model, prompt, index);
      const hit = cache?.get(key);
      if (hit !== undefined) {
        const image = { ...hit, cached: true, renderMs: 0 };
        onImage(image);
        return Promise.resolve(image);
      }
      // An abandoned render is not joined: it may be dropped from the queue.
      const running = inFlight.get(key);
      return running !== undefined && !running.abandon.signal.aborted
        ? wait(running, signal, (image) => {
            const shared = { ...image, cached: true, renderMs: 0 };
            onImage(shared);
            return shared;
          })
        : wait(start(key, model, prompt, index), signal, (image) => image);
    },
    hasRenderRoom: () => queue.hasRoom(),
    cacheStats: () => ({ entries: cache?.size ?? 0, bytes: cache?.calculatedSize ?? 0 }),
    renderStats: () => ({ running: queue.running, queued: queue.queued }),
  };
}

/**
 * One more caller of a render. When its signal aborts it stops waiting; the
 * last caller gone drops a render that has not started (its promise rejects
 * at once); a running one ends in its own time, and the caller's promise
 * rejects only then, so a caller that awaits it knows its work is gone.
 */
function wait(
  pending: Pending,
  signal: AbortSignal | undefined,
  served: (image: GeneratedImage) => GeneratedImage,
): Promise<GeneratedImage> {
  pending.waiters += 1;
  if (signal === undefined) {
    return pending.render.then(served);
  }
  return new Promise<GeneratedImage>((resolve, reject) => {
    let gaveUp = false;
    const onAbort = () => {
      gaveUp = true;
      pending.waiters -= 1;
      if (pending.waiters === 0) pending.abandon.abort(signal.reason);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    pending.render.then(
      (image) => {
        signal.removeEventListener("abort", onAbort);
        if (gaveUp) reject(signal.reason);
        else resolve(served(image));
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(gaveUp ? signal.reason : err);
      },
    );
  });
}
