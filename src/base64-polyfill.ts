/**
 * Supplies Uint8Array.prototype.toBase64 and setFromBase64 (TC39 "Uint8Array
 * to/from base64", native in Node 25+) on runtimes that lack them, backed by
 * Buffer's C++ codec.
 *
 * protobuf-es encodes `bytes` fields in JSON with these methods when the
 * runtime has them and with a JavaScript loop otherwise; on Node 20 the loop
 * takes about 115 ms per 1 MB chunk, so Connect JSON streams crawl. It reads
 * the methods once, when it loads, so this module must be imported before
 * anything that imports @bufbuild/protobuf.
 *
 * Only the behaviour protobuf-es relies on is provided: standard and URL
 * alphabets, optional padding on output; padded input of either alphabet
 * (anything else throws, and protobuf-es then falls back to its own lenient
 * decoder, which accepts unpadded text and white space).
 */
import { Buffer } from "node:buffer";

interface ToBase64Options {
  alphabet?: "base64" | "base64url";
  omitPadding?: boolean;
}

interface Base64Methods {
  toBase64?: (this: Uint8Array, options?: ToBase64Options) => string;
  setFromBase64?: (this: Uint8Array, text: string) => { read: number; written: number };
}

const proto = Uint8Array.prototype as unknown as Base64Methods;

if (typeof proto.toBase64 !== "function") {
  Object.defineProperty(Uint8Array.prototype, "toBase64", {
    configurable: true,
    writable: true,
    value: function toBase64(this: Uint8Array, options?: ToBase64Options): string {
      const view = Buffer.from(this.buffer, this.byteOffset, this.byteLength);
      if (options?.alphabet === "base64url") {
        // Buffer's base64url never pads.
        const text = view.toString("base64url");
        return options.omitPadding ? text : text.padEnd(Math.ceil(text.length / 4) * 4, "=");
      }
      const text = view.toString("base64");
      return options?.omitPadding ? text.replace(/=+$/, "") : text;
    },
  });
}

if (typeof proto.setFromBase64 !== "function") {
  Object.defineProperty(Uint8Array.prototype, "setFromBase64", {
    configurable: true,
    writable: true,
    value: function setFromBase64(
      this: Uint8Array,
      text: string,
    ): { read: number; written: number } {
      if (text.length % 4 !== 0) {
        throw new SyntaxError("not padded base64");
      }
      const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
      const expectedBytes = (text.length / 4) * 3 - padding;
      if (expectedBytes > this.byteLength) {
        throw new SyntaxError("base64 text is longer than the target array");
      }
      // Decodes straight into this array's memory: no intermediate copy.
      // Buffer's decoder skips characters outside the alphabet instead of
      // failing, so a short count is how invalid text shows; a regular
      // expression over a megabyte of text cost more than the decoding.
      const written = Buffer.from(this.buffer, this.byteOffset, this.byteLength).write(
        text,
        "base64",
      );
      if (written !== expectedBytes) {
        throw new SyntaxError("not valid base64");
      }
      return { read: text.length, written };
    },
  });
}
