/**
 * Checks that what a client received is what the server sent: for every
 * image, the byte count and the SHA-256 against the values the server
 * declared (StreamInference metadata image_bytes/image_sha256, REST
 * x-image-sha256 / content-length, the bare baselines' trailers).
 *
 * Library module of `npm run bench` (bench/run.ts); reads no flags or
 * environment.
 *
 * Hashing is either "deferred" (the received chunks are kept, by reference,
 * and hashed in finish(), after the timed part of a request) or "inline"
 * (each chunk is hashed as it arrives and then let go, for scenarios whose
 * responses would not fit in the client's memory).
 */
import { createHash, type Hash } from "node:crypto";
import { VerificationError } from "./errors.js";

/** When received bytes are hashed. */
export type HashingMode = "deferred" | "inline";

/** One image as received and checked. */
export interface VerifiedImage {
  readonly index: number;
  readonly bytes: number;
  readonly sha256: string;
}

/**
 * What a response must offer to be counted: finish() checks it (throwing
 * VerificationError) and returns the images. ImageAssembler is the bench's
 * own; a client that verifies elsewhere (in a Python process or a browser
 * page) returns an object whose finish() reports what that side checked.
 */
export interface Verifiable {
  finish(): VerifiedImage[];
}

interface ImageState {
  declaredBytes?: number;
  declaredSha256?: string;
  received: number;
  parts: Uint8Array[];
  hash?: Hash;
}

/**
 * Reassembles the images of one response and verifies them. Feed it with
 * declare() (what the server says) and add() (what arrived), in any order
 * per image, then call finish().
 */
export class ImageAssembler implements Verifiable {
  private readonly images = new Map<number, ImageState>();
  /** Bytes of a response that is one byte stream with no image boundaries yet. */
  private readonly streamParts: Uint8Array[] = [];
  private streamBytes = 0;

  /**
   * @param expectedImages how many images the response must hold, numbered 0..n-1.
   * @param hashing when to hash; see the module comment.
   */
  constructor(
    private readonly expectedImages: number,
    private readonly hashing: HashingMode,
  ) {}

  /** Records what the server says image `index` is. Later declarations must agree. */
  declare(index: number, bytes: number, sha256: string | undefined): void {
    if (!Number.isInteger(bytes) || bytes < 0 || typeof sha256 !== "string" || sha256 === "") {
      throw new VerificationError(
        `image ${index}: the server did not declare its size and sha256 (got ${bytes}, ${sha256})`,
      );
    }
    const image = this.image(index);
    if (image.declaredBytes !== undefined && image.declaredBytes !== bytes) {
      throw new VerificationError(
        `image ${index}: the server declared ${image.declaredBytes} bytes, then ${bytes}`,
      );
    }
    const sha = sha256.toLowerCase();
    if (image.declaredSha256 !== undefined && image.declaredSha256 !== sha) {
      throw new VerificationError(`image ${index}: the server declared two different sha256`);
    }
    image.declaredBytes = bytes;
    image.declaredSha256 = sha;
  }

  /**
   * Appends bytes to image `index`. With offset (the server's chunk_offset),
   * checks the chunk lands right after what arrived before.
   */
  add(index: number, data: Uint8Array, offset?: number): void {
    const image = this.image(index);
    if (offset !== undefined && offset !== image.received) {
      throw new VerificationError(
        `image ${index}: chunk at offset ${offset}, expected ${image.received} (lost, duplicated or reordered chunk)`,
      );
    }
    image.received += data.byteLength;
    if (image.declaredBytes !== undefined && image.received > image.declaredBytes) {
      throw new VerificationError(
        `image ${index}: received ${image.received} bytes, more than the declared ${image.declaredBytes}`,
      );
    }
    if (this.hashing === "inline") {
      image.hash ??= createHash("sha256");
      image.hash.update(data);
    } else {
      image.parts.push(data);
    }
  }

  /**
   * Appends bytes of a response that is the images back to back with no
   * framing (the bare baselines); finish() cuts it up by the declared sizes.
   * Deferred hashing only.
   */
  addToStream(data: Uint8Array): void {
    if (this.hashing === "inline") {
      throw new Error("a raw byte stream can only be verified with deferred hashing");
    }
    this.streamParts.push(data);
    this.streamBytes += data.byteLength;
  }

  /** The image sizes the server declared so far, by index. */
  declaredSizes(): number[] {
    return [...this.images.values()].map((image) => image.declaredBytes ?? 0);
  }

  /** Payload bytes received so far. */
  get receivedBytes(): number {
    let total = this.streamBytes;
    for (const image of this.images.values()) {
      total += image.received;
    }
    return total;
  }

  /** Hashes what is left to hash and checks every image. Throws VerificationError. */
  finish(): VerifiedImage[] {
    if (this.streamParts.length > 0) {
      this.splitStream();
    }
    const verified: VerifiedImage[] = [];
    for (let index = 0; index < this.expectedImages; index++) {
      const image = this.images.get(index);
      if (image === undefined) {
        throw new VerificationError(
          `image ${index} of ${this.expectedImages} never arrived (got ${this.images.size})`,
        );
      }
      if (image.declaredBytes === undefined || image.declaredSha256 === undefined) {
        throw new VerificationError(`image ${index}: the server did not declare its size and hash`);
      }
      if (image.received !== image.declaredBytes) {
        throw new VerificationError(
          `image ${index}: received ${image.received} bytes, the server declared ${image.declaredBytes}`,
        );
      }
      let hash = image.hash;
      if (hash === undefined) {
        hash = createHash("sha256");
        for (const part of image.parts) {
          hash.update(part);
        }
      }
      const sha256 = hash.digest("hex");
      if (sha256 !== image.declaredSha256) {
        throw new VerificationError(
          `image ${index}: sha256 ${sha256.slice(0, 12)}… differs from the server's ${image.declaredSha256.slice(0, 12)}…`,
        );
      }
      verified.push({ index, bytes: image.received, sha256 });
    }
    if (this.images.size > this.expectedImages) {
      throw new VerificationError(
        `received ${this.images.size} images, expected ${this.expectedImages}`,
      );
    }
    return verified;
  }

  private image(index: number): ImageState {
    if (!Number.isInteger(index) || index < 0) {
      throw new VerificationError(`bad image index ${index}`);
    }
    let image = this.images.get(index);
    if (image === undefined) {
      image = { received: 0, parts: [] };
      this.images.set(index, image);
    }
    return image;
  }

  /** Cuts the raw stream at the declared image sizes. */
  private splitStream(): void {
    let declaredTotal = 0;
    for (let index = 0; index < this.expectedImages; index++) {
      declaredTotal += this.images.get(index)?.declaredBytes ?? 0;
    }
    if (declaredTotal !== this.streamBytes) {
      throw new VerificationError(
        `received ${this.streamBytes} bytes, the server declared ${declaredTotal} for ${this.expectedImages} images`,
      );
    }
    let index = 0;
    let left = this.images.get(0)?.declaredBytes ?? 0;
    for (let part of this.streamParts) {
      while (part.byteLength > 0) {
        while (left === 0 && index < this.expectedImages - 1) {
          index++;
          left = this.images.get(index)?.declaredBytes ?? 0;
        }
        const take = Math.min(left, part.byteLength);
        this.add(index, part.subarray(0, take));
        part = part.subarray(take);
        left -= take;
      }
    }
    this.streamParts.length = 0;
    this.streamBytes = 0;
  }
}
