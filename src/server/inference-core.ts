import { Code, ConnectError } from "@connectrpc/connect";
import type { InferenceRequest } from "../gen/modelmora/inference_pb.js";
import {
  findModel,
  type GeneratedImage,
  type ModelProfile,
  modelProfiles,
} from "../imaging/index.js";

/** Limits on StreamInference requests and the shape of its responses. */
export interface InferenceLimits {
  /** Largest accepted batch_size. */
  readonly maxBatchSize: number;
  /** Largest accepted prompt, in UTF-8 bytes. */
  readonly maxPromptBytes: number;
  /** Size of the chunks images are cut into, in bytes. */
  readonly chunkBytes: number;
}

/** Default limits: batches of up to 32 images, 4 KiB prompts, 1 MB chunks. */
export const defaultInferenceLimits: InferenceLimits = {
  maxBatchSize: 32,
  maxPromptBytes: 4096,
  // The original proof of concept's "1MB": 1,000,000 bytes, which cuts a
  // 3,005,928-byte noise image into 4 chunks and a batch of 10 into 40.
  chunkBytes: 1_000_000,
};

/**
 * Checks a StreamInference request and returns the model it names. Throws a
 * ConnectError that names the field and says what is wrong.
 */
export function validateInferenceRequest(
  request: Pick<InferenceRequest, "modelId" | "prompt" | "batchSize">,
  limits: InferenceLimits,
): ModelProfile {
  if (request.modelId === "") {
    throw new ConnectError(`model_id is required; one of: ${modelIds()}`, Code.InvalidArgument);
  }
  const model = findModel(request.modelId);
  if (model === undefined) {
    throw new ConnectError(
      `model_id "${truncate(request.modelId)}" is not a model of this server; one of: ${modelIds()}`,
      Code.NotFound,
    );
  }
  if (request.batchSize < 1 || request.batchSize > limits.maxBatchSize) {
    throw new ConnectError(
      `batch_size must be from 1 to ${limits.maxBatchSize}, got ${request.batchSize}`,
      Code.InvalidArgument,
    );
  }
  const promptBytes = Buffer.byteLength(request.prompt, "utf8");
  if (promptBytes > limits.maxPromptBytes) {
    throw new ConnectError(
      `prompt must be at most ${limits.maxPromptBytes} bytes of UTF-8, got ${promptBytes}`,
      Code.InvalidArgument,
    );
  }
  return model;
}

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

/** The metadata entries every chunk of an image carries (see the proto). */
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

/** The error for a request body over the limit. */
export function bodyTooLarge(bytes: number, maxBytes: number): ConnectError {
  return new ConnectError(
    `request body is ${bytes} bytes or more; the limit is ${maxBytes}`,
    Code.InvalidArgument,
  );
}

function modelIds(): string {
  return modelProfiles.map((model) => model.id).join(", ");
}

function truncate(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}
