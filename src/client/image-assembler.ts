import { createHash, type Hash } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import type { InferenceResponse } from "../gen/modelmora/inference_pb.js";
import type { StreamedImage } from "./streamed-image.js";

/** Options for ImageAssembler. */
export interface ImageAssemblerOptions {
  /**
   * Largest image accepted, in bytes: each image's buffer is allocated
   * whole when its first chunk declares `image_bytes`. Past it the call
   * fails with RESOURCE_EXHAUSTED. Default 256 MiB.
   */
  maxImageBytes?: number;
}

/** Default largest image: 256 MiB. */
export const defaultMaxImageBytes = 256 * 1024 * 1024;

/** An image being received: `sha256` is the one the server declared, `bytes` filled up to `received`. */
interface OpenImage extends StreamedImage {
  readonly hash: Hash;
  received: number;
}

/**
 * Rebuilds the images of one StreamInference response from its chunks: one
 * buffer per image, allocated from the first chunk's `image_bytes`, each
 * chunk's data written in place at its `chunk_offset`, hashed as it is
 * written, and checked against `image_sha256` when the image is whole.
 *
 * The server sends the chunks of an image in order (docs/api.md), so a
 * chunk must start where the one before it ended: a lost, repeated or
 * reordered chunk fails the call with DATA_LOSS, as does a SHA-256 that
 * differs or a stream that ends with an image unfinished. Missing or
 * malformed metadata fails it with INTERNAL.
 */
export class ImageAssembler {
  private readonly maxImageBytes: number;
  private readonly open = new Map<number, OpenImage>();
  private finished = 0;
  private declaredCount: number | undefined;

  constructor(options: ImageAssemblerOptions = {}) {
    this.maxImageBytes = options.maxImageBytes ?? defaultMaxImageBytes;
  }

  /** Images completed so far. */
  get completedImages(): number {
    return this.finished;
  }

  /**
   * Writes one chunk's data, given as the pieces it arrived in, into its
   * image. Returns the image once it is whole and verified.
   */
  add(response: InferenceResponse, pieces: readonly Uint8Array[]): StreamedImage | undefined {
    const metadata = response.metadata;
    const index = metadataInt(metadata, "image_index", response);
    let image = this.open.get(index);
    if (image === undefined) {
      image = this.begin(index, response);
    }
    const offset = metadataInt(metadata, "chunk_offset", response);
    if (offset !== image.received) {
      throw new ConnectError(
        `image ${index}: a chunk at offset ${offset}, expected ${image.received} (a lost, repeated or reordered chunk)`,
        Code.DataLoss,
      );
    }
    for (const piece of pieces) {
      if (image.received + piece.byteLength > image.bytes.byteLength) {
        throw new ConnectError(
          `image ${index}: more than the ${image.bytes.byteLength} bytes the server declared`,
          Code.DataLoss,
        );
      }
      image.bytes.set(piece, image.received);
      // Hashed now, while the piece is still in cache: the SHA-256 check
      // costs no second pass over the image.
      image.hash.update(piece);
      image.received += piece.byteLength;
    }
    if (image.received < image.bytes.byteLength) return undefined;
    return this.complete(image);
  }

  /** Call when the stream ended without error: throws DATA_LOSS if an image is unfinished or missing. */
  finish(): void {
    for (const image of this.open.values()) {
      throw new ConnectError(
        `image ${image.index}: the stream ended after ${image.received} of its ${image.bytes.byteLength} bytes`,
        Code.DataLoss,
      );
    }
    if (this.declaredCount !== undefined && this.finished < this.declaredCount) {
      throw new ConnectError(
        `the stream ended after ${this.finished} of ${this.declaredCount} images`,
        Code.DataLoss,
      );
    }
  }

  private begin(index: number, response: InferenceResponse): OpenImage {
    const metadata = response.metadata;
    const imageBytes = metadataInt(metadata, "image_bytes", response);
    if (imageBytes > this.maxImageBytes) {
      throw new ConnectError(
        `image ${index} is ${imageBytes} bytes, more than the limit of ${this.maxImageBytes} (maxImageBytes)`,
        Code.ResourceExhausted,
      );
    }
    const sha256 = metadata.image_sha256?.toLowerCase() ?? "";
    if (!/^[0-9a-f]{64}$/.test(sha256)) {
      throw new ConnectError(
        `protocol error: chunk ${response.chunkIndex} of image ${index} has no image_sha256 (hex SHA-256)`,
        Code.Internal,
      );
    }
    const count =
      metadata.image_count === undefined
        ? undefined
        : metadataInt(metadata, "image_count", response);
    if (count !== undefined) {
      this.declaredCount = Math.max(this.declaredCount ?? 0, count);
    }
    const image: OpenImage = {
      index,
      // allocUnsafe: every byte is written before the image is handed on
      // (received must reach image_bytes, and the SHA-256 must match).
      bytes: Buffer.allocUnsafe(imageBytes),
      sha256,
      width: optionalInt(metadata.width),
      height: optionalInt(metadata.height),
      contentType: metadata.content_type ?? "",
      hash: createHash("sha256"),
      received: 0,
    };
    this.open.set(index, image);
    return image;
  }

  private complete(image: OpenImage): StreamedImage {
    this.open.delete(image.index);
    const sha256 = image.hash.digest("hex");
    if (sha256 !== image.sha256) {
      throw new ConnectError(
        `image ${image.index}: SHA-256 ${sha256} differs from the server's ${image.sha256}`,
        Code.DataLoss,
      );
    }
    this.finished++;
    return {
      index: image.index,
      bytes: image.bytes,
      sha256,
      width: image.width,
      height: image.height,
      contentType: image.contentType,
    };
  }
}

/** A whole, non-negative number from the metadata, or an INTERNAL error naming the key. */
function metadataInt(
  metadata: Record<string, string>,
  key: string,
  response: InferenceResponse,
): number {
  const text = metadata[key];
  const value = text === undefined || !/^\d{1,15}$/.test(text) ? Number.NaN : Number(text);
  if (Number.isNaN(value)) {
    throw new ConnectError(
      `protocol error: chunk ${response.chunkIndex} has no valid metadata ${key} (got ${JSON.stringify(text)})`,
      Code.Internal,
    );
  }
  return value;
}

function optionalInt(text: string | undefined): number {
  return text !== undefined && /^\d{1,9}$/.test(text) ? Number(text) : 0;
}
