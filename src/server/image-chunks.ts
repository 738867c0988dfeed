import type { GeneratedImage } from "../imaging/index.js";

/** One chunk of one image, as every protocol sends it. */
export interface ImageChunk {
  readonly image: GeneratedImage;
  /** Position of this chunk within its image. */
  readonly chunkIndex: number;
  /** Number of chunks of its image. */
  readonly totalChunks: number;
  /** Byte offset of data in the PNG file. */
  readonly offset: number;
  /** A view into the PNG file; not a copy. */
  readonly data: Uint8Array;
}

/** Cuts an image into chunks of at most chunkBytes, without copying. */
export function* chunksOf(image: GeneratedImage, chunkBytes: number): Generator<ImageChunk> {
  const totalChunks = Math.max(1, Math.ceil(image.png.byteLength / chunkBytes));
  for (let chunkIndex = 0; chunkIndex < totalChunks; chunkIndex++) {
    const offset = chunkIndex * chunkBytes;
    yield {
      image,
      chunkIndex,
      totalChunks,
      offset,
      data: image.png.subarray(offset, offset + chunkBytes),
    };
  }
}

/** The metadata entries every chunk of an image carries (see the proto), but chunk_offset. */
export function imageMetadata(image: GeneratedImage, imageCount: number): Record<string, string> {
  return {
    image_index: String(image.index),
    // The proof of concept's server named the image's index result_index and
    // sent its format; its clients read both.
    result_index: String(image.index),
    format: "png",
    image_count: String(imageCount),
    image_bytes: String(image.png.byteLength),
    image_sha256: image.sha256,
    content_type: "image/png",
    width: String(image.widthPx),
    height: String(image.heightPx),
    model_id: image.modelId,
  };
}
