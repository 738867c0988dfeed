import type { ImageHold, MemoryBudget } from "../limits/index.js";
import { type GeneratedImage, type ImageGenerator, imageKey } from "./image-generator.js";
import type { ModelProfile } from "./models.js";

/** Options for generateBatch. */
export interface GenerateBatchOptions {
  /**
   * Images drawn ahead of the one the consumer holds. Default 1: while the
   * consumer sends image k, image k + 1 is drawn (and k + 2 is started as k
   * is handed over), so on a 2-core machine both cores draw while a stream
   * is sent, which keeps an end-to-end stream above one core's drawing
   * speed.
   */
  lookahead?: number;
  /**
   * The server's memory budget: each image is held in it from before it is
   * drawn until the consumer moves past it. Images drawn ahead are started
   * only when there is room; the image the consumer needs next waits for
   * room up to memoryWaitMs.
   */
  budget?: MemoryBudget;
  /** How long the next image may wait for room in the budget, in ms. Default 10,000. */
  memoryWaitMs?: number;
}

interface Started {
  readonly image: Promise<GeneratedImage>;
  readonly hold: ImageHold | undefined;
}

/**
 * Yields the images of a batch in order, and none once `signal` aborts.
 * Renders it started and no longer needs are dropped if they have not begun;
 * when it ends, however it ends, it returns only once its renders are gone,
 * so a caller that counts the stream until then counts the work it caused.
 */
export async function* generateBatch(
  generator: ImageGenerator,
  model: ModelProfile,
  prompt: string,
  count: number,
  signal: AbortSignal,
  options: GenerateBatchOptions = {},
): AsyncGenerator<GeneratedImage> {
  const lookahead = options.lookahead ?? 1;
  const budget = options.budget;
  const waitMs = options.memoryWaitMs ?? 10_000;
  // The bytes to hold before an image is drawn: an upper bound of its PNG
  // (RGBA, stored, plus a filter byte a row and the chunks' framing).
  const estimateBytes = model.widthPx * model.heightPx * 4 + model.heightPx + 4096;
  const started: Started[] = [];
  let next = 0;
  let current: ImageHold | undefined;

  function begin(hold: ImageHold | undefined): void {
    const image = generator.generate(model, prompt, next++, signal).then((drawn) => {
      hold?.resize(drawn.png.byteLength);
      return drawn;
    });
    image.catch(() => {});
    started.push({ image, hold });
  }

  try {
    while (next < count || started.length > 0) {
      signal.throwIfAborted();
      if (started.length === 0) {
        const key = imageKey(model, prompt, next);
        begin(budget && (await budget.holdImage(key, estimateBytes, signal, waitMs)));
      }
      const { image, hold } = started.shift() as Started;
      // Draw ahead while this image is awaited and sent: with lookahead 1,
      // images k + 1 and k + 2 are started as image k is taken.
      while (next < count && started.length <= lookahead) {
        const ahead = budget?.tryHoldImage(imageKey(model, prompt, next), estimateBytes);
        if (budget !== undefined && ahead === undefined) break;
        begin(ahead);
      }
      const drawn = await image;
      current?.release();
      current = hold;
      yield drawn;
    }
  } finally {
    current?.release();
    await Promise.allSettled(started.map((entry) => entry.image));
    for (const entry of started) entry.hold?.release();
  }
}
