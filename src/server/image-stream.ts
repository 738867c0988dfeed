import type { ImageGenerator, ModelProfile } from "../imaging/index.js";
import { generateBatch } from "../imaging/index.js";
import type { MemoryBudget } from "../limits/index.js";
import type { StreamAdmission } from "./call-guard.js";
import { chunksOf, type ImageChunk } from "./image-chunks.js";

/** What every image stream needs from the server, whichever protocol sends it. */
export interface ImageStreamOptions {
  readonly generator: ImageGenerator;
  /** The memory budget images are held in; none for the in-memory transport of tests. */
  readonly budget?: MemoryBudget;
  readonly chunkBytes: number;
  /** See ServerOptions.memoryWaitMs. Default 10,000. */
  readonly memoryWaitMs?: number;
}

/** One validated StreamInference request. */
export interface ImageStreamRequest {
  readonly model: ModelProfile;
  readonly prompt: string;
  readonly batchSize: number;
}

/**
 * The chunks of a batch, in order, for RPC and REST alike: images drawn
 * (with look-ahead, within the memory budget) and cut into chunks, each
 * chunk's bytes counted against the key's daily quota before it is
 * yielded. Ends when `signal` aborts; once it ends, however it ends, and
 * its renders are gone, it releases `admission`.
 */
export async function* imageStream(
  request: ImageStreamRequest,
  signal: AbortSignal,
  admission: StreamAdmission | undefined,
  options: ImageStreamOptions,
): AsyncGenerator<ImageChunk> {
  try {
    const images = generateBatch(
      options.generator,
      request.model,
      request.prompt,
      request.batchSize,
      signal,
      { budget: options.budget, memoryWaitMs: options.memoryWaitMs },
    );
    for await (const image of images) {
      for (const chunk of chunksOf(image, options.chunkBytes)) {
        await admission?.addBytes(chunk.data.byteLength);
        yield chunk;
      }
    }
  } finally {
    admission?.release();
  }
}
