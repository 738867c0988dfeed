import type { GeneratedImage } from "../imaging/index.js";
import type { Call } from "./call.js";
import type { AnyResponse } from "./http-types.js";
import type { ImageChunk } from "./image-chunks.js";
import { drained } from "./response-drain.js";

/**
 * Writes the images of a REST response as they come: a batch of one as the
 * PNG itself (`image/png`, its facts in x-image-* headers), a larger batch
 * as `multipart/mixed`, one `image/png` part per image with its
 * content-length and x-image-* part headers. Waits for 'drain' whenever the
 * socket is full (backpressure), up to stallTimeoutMs.
 */
export async function writeImageBody(
  res: AnyResponse,
  call: Call,
  chunks: AsyncIterable<ImageChunk>,
  batchSize: number,
  stallTimeoutMs: number,
): Promise<void> {
  const boundary = `modelmora-${call.requestId}`;
  const multipart = batchSize > 1;
  const write = async (data: Uint8Array | string) => {
    call.countBytes(typeof data === "string" ? Buffer.byteLength(data) : data.byteLength);
    if (!(res as { write(data: Uint8Array | string): boolean }).write(data)) {
      await drained(res, stallTimeoutMs);
    }
  };
  for await (const chunk of chunks) {
    if (!res.headersSent) {
      res.setHeader("x-request-id", call.requestId ?? "");
      if (multipart) {
        res.setHeader("content-type", `multipart/mixed; boundary=${boundary}`);
      } else {
        for (const [name, value] of Object.entries(imageHeaders(chunk.image))) {
          res.setHeader(name, value);
        }
        res.setHeader("content-type", "image/png");
      }
      res.writeHead(200);
    }
    if (multipart && chunk.chunkIndex === 0) {
      await write(partHeader(boundary, chunk.image));
    }
    await write(chunk.data);
    if (multipart && chunk.chunkIndex === chunk.totalChunks - 1) {
      await write("\r\n");
    }
  }
  if (multipart) {
    await write(`--${boundary}--\r\n`);
  }
  res.end();
}

function imageHeaders(image: GeneratedImage): Record<string, string> {
  return {
    "x-image-index": String(image.index),
    "x-image-bytes": String(image.png.byteLength),
    "x-image-sha256": image.sha256,
    "x-image-width": String(image.widthPx),
    "x-image-height": String(image.heightPx),
  };
}

function partHeader(boundary: string, image: GeneratedImage): string {
  const headers = imageHeaders(image);
  return (
    `--${boundary}\r\n` +
    "content-type: image/png\r\n" +
    `content-length: ${image.png.byteLength}\r\n` +
    `x-image-index: ${headers["x-image-index"]}\r\n` +
    `x-image-sha256: ${headers["x-image-sha256"]}\r\n` +
    `x-image-width: ${headers["x-image-width"]}\r\n` +
    `x-image-height: ${headers["x-image-height"]}\r\n\r\n`
  );
}
