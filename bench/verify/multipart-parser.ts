/**
 * Parses the REST route's multipart/mixed body as it arrives (one part per
 * image, each with content-length, x-image-index and x-image-sha256) and
 * feeds an ImageAssembler, which checks sizes and hashes.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import { VerificationError } from "./errors.js";
import type { ImageAssembler } from "./image-assembler.js";

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
