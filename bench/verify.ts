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

/** When received bytes are hashed. */
export type HashingMode = "deferred" | "inline";

/** A verification failure: what arrived differs from what the server said. */
export class VerificationError extends Error {
  override readonly name = "VerificationError";
}

/** One image as received and checked. */
export interface VerifiedImage {
  readonly index: number;
  readonly bytes: number;
  readonly sha256: string;
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
export class ImageAssembler {
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

/** What a multipart/mixed part header said about its image. */
interface PartHeader {
  index: number;
  bytes: number;
  sha256: string;
}

/**
 * Parses the REST route's multipart/mixed body as it arrives, feeding an
 * ImageAssembler. Each part carries content-length, so the parser never
 * searches the image bytes for the boundary.
 */
export class MultipartImageParser {
  private state: "boundary" | "headers" | "body" | "crlf" | "done" = "boundary";
  private pending: Buffer = Buffer.alloc(0);
  private part: PartHeader | undefined;
  private left = 0;
  private nextIndex = 0;
  private readonly delimiter: string;

  constructor(
    boundary: string,
    private readonly assembler: ImageAssembler,
  ) {
    this.delimiter = `--${boundary}`;
  }

  /** Returns the boundary of a multipart/mixed content type, or undefined. */
  static boundaryOf(contentType: string | undefined): string | undefined {
    const match = /^multipart\/mixed\s*;.*boundary="?([^";]+)"?/i.exec(contentType ?? "");
    return match?.[1];
  }

  /** Feeds the next bytes of the body. */
  push(data: Buffer): void {
    let chunk = data;
    while (chunk.byteLength > 0) {
      if (this.state === "body") {
        const take = Math.min(this.left, chunk.byteLength);
        this.assembler.add((this.part as PartHeader).index, chunk.subarray(0, take));
        this.left -= take;
        chunk = chunk.subarray(take);
        if (this.left === 0) {
          this.state = "crlf";
        }
        continue;
      }
      if (this.state === "done") {
        // Epilogue: ignored, as RFC 2046 says.
        return;
      }
      // Line-oriented states: gather bytes up to the end of the line(s).
      this.pending = this.pending.byteLength === 0 ? chunk : Buffer.concat([this.pending, chunk]);
      chunk = Buffer.alloc(0);
      const rest = this.parseLines();
      if (rest !== undefined) {
        chunk = rest;
      }
    }
  }

  /** Checks that the closing delimiter arrived. */
  end(): void {
    if (this.state !== "done") {
      throw new VerificationError(`multipart body ended early (in state ${this.state})`);
    }
  }

  /** Consumes complete lines from pending; returns the bytes after them, if any. */
  private parseLines(): Buffer | undefined {
    for (;;) {
      if (this.state === "crlf") {
        if (this.pending.byteLength < 2) return undefined;
        if (this.pending[0] !== 0x0d || this.pending[1] !== 0x0a) {
          throw new VerificationError("multipart: no CRLF after a part's body");
        }
        this.pending = this.pending.subarray(2);
        this.state = "boundary";
      }
      if (this.state === "boundary") {
        const eol = this.pending.indexOf("\r\n");
        if (eol < 0) return undefined;
        const line = this.pending.subarray(0, eol).toString("latin1");
        this.pending = this.pending.subarray(eol + 2);
        if (line === `${this.delimiter}--`) {
          this.state = "done";
          return undefined;
        }
        if (line !== this.delimiter) {
          throw new VerificationError(
            `multipart: expected the boundary, got "${line.slice(0, 60)}"`,
          );
        }
        this.state = "headers";
      }
      if (this.state === "headers") {
        const end = this.pending.indexOf("\r\n\r\n");
        if (end < 0) return undefined;
        const text = this.pending.subarray(0, end).toString("latin1");
        const rest = this.pending.subarray(end + 4);
        this.pending = Buffer.alloc(0);
        this.part = this.parsePartHeader(text);
        this.assembler.declare(this.part.index, this.part.bytes, this.part.sha256);
        this.left = this.part.bytes;
        this.state = this.left > 0 ? "body" : "crlf";
        if (this.state === "body") {
          return rest;
        }
        this.pending = rest;
      }
      if (this.state === "done" || this.state === "body") return undefined;
    }
  }

  private parsePartHeader(text: string): PartHeader {
    const headers = new Map<string, string>();
    for (const line of text.split("\r\n")) {
      const colon = line.indexOf(":");
      if (colon > 0) {
        headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
    }
    const bytes = Number(headers.get("content-length"));
    const sha256 = headers.get("x-image-sha256");
    const index = Number(headers.get("x-image-index") ?? this.nextIndex);
    if (!Number.isInteger(bytes) || sha256 === undefined) {
      throw new VerificationError(
        "multipart: a part lacks content-length or x-image-sha256; cannot verify it",
      );
    }
    this.nextIndex = index + 1;
    return { index, bytes, sha256 };
  }
}
