/**
 * Unit tests of the bench's verification: `npm run bench:test`
 * (node --test over the spec files in bench/<folder>/). Reads no flags or environment.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { ImageAssembler, MultipartImageParser, VerificationError } from "./index.js";

const sha = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");
const images = [randomBytes(3000), randomBytes(1), randomBytes(2500)];

/** Splits data into pieces of random sizes, as a socket would. */
function pieces(data: Buffer, seed: number): Buffer[] {
  const out: Buffer[] = [];
  let offset = 0;
  let x = seed;
  while (offset < data.byteLength) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const size = 1 + (x % 97);
    out.push(data.subarray(offset, offset + size));
    offset += size;
  }
  return out;
}

function multipart(boundary: string, parts: Buffer[]): Buffer {
  const chunks: Buffer[] = [];
  parts.forEach((png, index) => {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\ncontent-type: image/png\r\ncontent-length: ${png.byteLength}\r\n` +
          `x-image-index: ${index}\r\nx-image-sha256: ${sha(png)}\r\n\r\n`,
      ),
      png,
      Buffer.from("\r\n"),
    );
  });
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

describe("ImageAssembler", () => {
  for (const hashing of ["deferred", "inline"] as const) {
    it(`accepts chunks that match the declarations (${hashing})`, () => {
      const assembler = new ImageAssembler(images.length, hashing);
      images.forEach((png, index) => {
        for (let offset = 0; offset < png.byteLength; offset += 1000) {
          assembler.declare(index, png.byteLength, sha(png));
          assembler.add(index, png.subarray(offset, offset + 1000), offset);
        }
      });
      const verified = assembler.finish();
      assert.deepEqual(
        verified.map((v) => v.sha256),
        images.map(sha),
      );
    });
  }

  it("rejects a changed byte", () => {
    const assembler = new ImageAssembler(1, "deferred");
    const png = Buffer.from(images[0] as Buffer);
    assembler.declare(0, png.byteLength, sha(png));
    png[10] = (png[10] as number) ^ 1;
    assembler.add(0, png, 0);
    assert.throws(() => assembler.finish(), VerificationError);
  });

  it("rejects a missing chunk, a short image and a missing image", () => {
    const gap = new ImageAssembler(1, "deferred");
    gap.declare(0, 3000, sha(images[0] as Buffer));
    gap.add(0, (images[0] as Buffer).subarray(0, 1000), 0);
    assert.throws(() => gap.add(0, (images[0] as Buffer).subarray(2000), 2000), /offset 2000/);

    const short = new ImageAssembler(1, "deferred");
    short.declare(0, 3000, sha(images[0] as Buffer));
    short.add(0, (images[0] as Buffer).subarray(0, 2999));
    assert.throws(() => short.finish(), /received 2999 bytes/);

    const missing = new ImageAssembler(2, "deferred");
    missing.declare(0, 1, sha(images[1] as Buffer));
    missing.add(0, images[1] as Buffer);
    assert.throws(() => missing.finish(), /image 1 of 2 never arrived/);
  });

  it("rejects a chunk without a declared hash", () => {
    const assembler = new ImageAssembler(1, "deferred");
    assert.throws(() => assembler.declare(0, 10, undefined), VerificationError);
  });

  it("cuts a raw stream at the declared sizes", () => {
    const assembler = new ImageAssembler(images.length, "deferred");
    for (const piece of pieces(Buffer.concat(images), 7)) {
      assembler.addToStream(piece);
    }
    images.forEach((png, index) => {
      assembler.declare(index, png.byteLength, sha(png));
    });
    assert.equal(assembler.finish().length, images.length);

    const wrong = new ImageAssembler(images.length, "deferred");
    wrong.addToStream(Buffer.concat(images).subarray(1));
    images.forEach((png, index) => {
      wrong.declare(index, png.byteLength, sha(png));
    });
    assert.throws(() => wrong.finish(), VerificationError);
  });
});

describe("MultipartImageParser", () => {
  const boundary = "modelmora-test";
  const body = multipart(boundary, images);

  for (const seed of [1, 2, 3, 4, 5]) {
    it(`parses a body split at arbitrary places (seed ${seed})`, () => {
      const assembler = new ImageAssembler(images.length, "deferred");
      const parser = new MultipartImageParser(boundary, assembler);
      for (const piece of pieces(body, seed)) {
        parser.push(piece);
      }
      parser.end();
      assert.equal(assembler.finish().length, images.length);
    });
  }

  it("parses a body that arrives in one piece", () => {
    const assembler = new ImageAssembler(images.length, "inline");
    const parser = new MultipartImageParser(boundary, assembler);
    parser.push(body);
    parser.end();
    assert.equal(assembler.finish().length, images.length);
  });

  it("rejects a body cut before the closing delimiter", () => {
    const parser = new MultipartImageParser(
      boundary,
      new ImageAssembler(images.length, "deferred"),
    );
    parser.push(body.subarray(0, body.byteLength - 10));
    assert.throws(() => parser.end(), /ended early/);
  });

  it("reads the boundary of a content type", () => {
    assert.equal(MultipartImageParser.boundaryOf("multipart/mixed; boundary=abc-1"), "abc-1");
    assert.equal(MultipartImageParser.boundaryOf('multipart/mixed; boundary="q"'), "q");
    assert.equal(MultipartImageParser.boundaryOf("image/png"), undefined);
  });
});
