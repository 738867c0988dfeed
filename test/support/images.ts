/**
 * What a client does with the chunks it gets: rebuilds the images by their
 * metadata, checks each is a whole PNG file, and splits REST's
 * multipart/mixed bodies.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { inflateSync } from "node:zlib";

/** The fields of an InferenceResponse, as any client decodes them. */
export interface ChunkLike {
  requestId: string;
  chunkIndex: number;
  totalChunks: number;
  data: Uint8Array;
  metadata: Record<string, string>;
}

/** One image rebuilt from the chunks of a stream. */
export interface ReassembledImage {
  readonly index: number;
  readonly png: Buffer;
  /** Hex SHA-256 of png, computed here. */
  readonly sha256: string;
  /** The metadata of the image's first chunk. */
  readonly metadata: Readonly<Record<string, string>>;
  readonly chunkCount: number;
}

/** Collects a server stream. */
export async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const chunks: T[] = [];
  for await (const chunk of stream) {
    chunks.push(chunk);
  }
  return chunks;
}

/**
 * Rebuilds the images of a stream from its chunks, using the metadata as a
 * client must: image_index says which image, chunk_offset where the bytes
 * go. Checks along the way that the chunks are consistent: one request id,
 * chunk_index counting 0..total_chunks-1 per image, offsets without gaps,
 * the same facts in every chunk of an image, and a SHA-256 that matches.
 */
export function reassemble(chunks: readonly ChunkLike[]): ReassembledImage[] {
  assert.ok(chunks.length > 0, "the stream had no chunks");
  const requestId = chunks[0]?.requestId;
  assert.ok(requestId, "request_id is empty");
  const byImage = new Map<number, ChunkLike[]>();
  for (const chunk of chunks) {
    assert.equal(chunk.requestId, requestId, "request_id changed within the stream");
    const index = Number(chunk.metadata.image_index);
    assert.ok(Number.isInteger(index), `bad image_index ${chunk.metadata.image_index}`);
    const list = byImage.get(index) ?? [];
    list.push(chunk);
    byImage.set(index, list);
  }
  const images: ReassembledImage[] = [];
  for (const [index, list] of [...byImage].sort((a, b) => a[0] - b[0])) {
    const first = list[0] as ChunkLike;
    const size = Number(first.metadata.image_bytes);
    const png = Buffer.alloc(size);
    let expectedOffset = 0;
    list.forEach((chunk, i) => {
      assert.equal(chunk.chunkIndex, i, `image ${index}: chunk_index out of order`);
      assert.equal(chunk.totalChunks, list.length, `image ${index}: total_chunks`);
      const offset = Number(chunk.metadata.chunk_offset);
      assert.equal(offset, expectedOffset, `image ${index}: chunk_offset leaves a gap`);
      for (const key of ["image_bytes", "image_sha256", "width", "height", "content_type"]) {
        assert.equal(chunk.metadata[key], first.metadata[key], `image ${index}: ${key} changed`);
      }
      png.set(chunk.data, offset);
      expectedOffset += chunk.data.byteLength;
    });
    assert.equal(expectedOffset, size, `image ${index}: chunks do not add up to image_bytes`);
    const sha256 = sha256Hex(png);
    assert.equal(sha256, first.metadata.image_sha256, `image ${index}: image_sha256`);
    images.push({ index, png, sha256, metadata: first.metadata, chunkCount: list.length });
  }
  return images;
}

/** Hex SHA-256 of data. */
export function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Facts read from a PNG file whose chunks and pixel data were all checked. */
export interface PngInfo {
  widthPx: number;
  heightPx: number;
  colorType: number;
}

const pngSignature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Checks that png is a whole, valid PNG file: signature, chunk CRCs, IHDR,
 * IEND last, and IDAT data that inflates to exactly the rows IHDR promises.
 */
export function inspectPng(png: Uint8Array): PngInfo {
  const buf = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  assert.ok(buf.subarray(0, 8).equals(pngSignature), "not a PNG: bad signature");
  let offset = 8;
  let info: (PngInfo & { bitDepth: number }) | undefined;
  const idat: Buffer[] = [];
  let ended = false;
  while (offset < buf.length) {
    assert.ok(!ended, "PNG has bytes after IEND");
    const length = buf.readUInt32BE(offset);
    const type = buf.toString("latin1", offset + 4, offset + 8);
    const body = buf.subarray(offset + 8, offset + 8 + length);
    const crc = buf.readUInt32BE(offset + 8 + length);
    assert.equal(crc32(buf.subarray(offset + 4, offset + 8 + length)), crc, `PNG ${type}: bad CRC`);
    if (type === "IHDR") {
      info = {
        widthPx: body.readUInt32BE(0),
        heightPx: body.readUInt32BE(4),
        bitDepth: body[8] as number,
        colorType: body[9] as number,
      };
    } else if (type === "IDAT") {
      idat.push(body);
    } else if (type === "IEND") {
      ended = true;
    }
    offset += 12 + length;
  }
  assert.ok(ended, "PNG has no IEND: truncated");
  assert.ok(info, "PNG has no IHDR");
  assert.equal(info.bitDepth, 8, "PNG bit depth");
  const channels = ({ 0: 1, 2: 3, 4: 2, 6: 4 } as Record<number, number>)[info.colorType];
  assert.ok(channels, `PNG color type ${info.colorType}`);
  const pixels = inflateSync(Buffer.concat(idat));
  assert.equal(pixels.length, info.heightPx * (1 + info.widthPx * channels), "PNG pixel data size");
  return { widthPx: info.widthPx, heightPx: info.heightPx, colorType: info.colorType };
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) {
    c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return c >>> 0;
});

function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) {
    c = (crcTable[(c ^ byte) & 0xff] as number) ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** One part of a multipart/mixed body. */
export interface MultipartPart {
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Parses a multipart/mixed body as RFC 2046 defines it, using each part's
 * content-length (which the server sends) and checking the delimiters.
 */
export function parseMultipart(body: Buffer, boundary: string): MultipartPart[] {
  const parts: MultipartPart[] = [];
  const delimiter = `--${boundary}`;
  let offset = 0;
  for (;;) {
    const line = body.toString("latin1", offset, offset + delimiter.length + 2);
    if (line === `${delimiter}--`) {
      break;
    }
    assert.equal(line, `${delimiter}\r\n`, `multipart: expected a delimiter at ${offset}`);
    offset += line.length;
    const headerEnd = body.indexOf("\r\n\r\n", offset, "latin1");
    assert.ok(headerEnd > 0, "multipart: part headers do not end");
    const headers: Record<string, string> = {};
    for (const headerLine of body.toString("latin1", offset, headerEnd).split("\r\n")) {
      const colon = headerLine.indexOf(":");
      headers[headerLine.slice(0, colon).trim().toLowerCase()] = headerLine.slice(colon + 1).trim();
    }
    offset = headerEnd + 4;
    const length = Number(headers["content-length"]);
    assert.ok(Number.isInteger(length), "multipart: part without content-length");
    parts.push({ headers, body: body.subarray(offset, offset + length) });
    offset += length;
    assert.equal(body.toString("latin1", offset, offset + 2), "\r\n", "multipart: part end");
    offset += 2;
  }
  return parts;
}

/** The boundary parameter of a multipart content-type. */
export function boundaryOf(contentType: string): string {
  const match = /boundary=("?)([^";]+)\1/.exec(contentType);
  assert.ok(match, `no boundary in ${contentType}`);
  return match[2] as string;
}

/** The parts of a multipart/mixed response, by its content-type header. */
export function multipartOf(response: {
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}): MultipartPart[] {
  return parseMultipart(response.body, boundaryOf(String(response.headers["content-type"] ?? "")));
}
