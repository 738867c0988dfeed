import type { ServerResponse } from "node:http";
import type { UniversalServerResponse } from "@connectrpc/connect/protocol";
import type { AnyResponse } from "./rest-route.js";

/** Called for each body chunk written. */
export type OnChunk = (chunk: Uint8Array) => void;

/**
 * Writes a Connect universal response to a Node response, like
 * connect-node's universalResponseToNodeResponse, with two differences:
 *
 * - It keeps up to aheadBytes queued in the HTTP stream before it waits for
 *   'drain'. Waiting for every 1 MB message to drain (Node's high-water mark
 *   is 16 KB) leaves the socket idle while the next message is serialized;
 *   one message of slack keeps it busy. Memory stays bounded per stream.
 * - It reports each chunk (for byte counts and time to first chunk) and the
 *   last one (to read a Connect end-of-stream error).
 *
 * Resolves when the response has ended; rejects when the client went away.
 */
export async function writeUniversalResponse(
  uRes: UniversalServerResponse,
  res: AnyResponse,
  aheadBytes: number,
  onChunk: OnChunk,
): Promise<Uint8Array | undefined> {
  const iterator = uRes.body?.[Symbol.asyncIterator]();
  let last: Uint8Array | undefined;
  try {
    if (res.destroyed) {
      throw new Error("client closed the response");
    }
    if (iterator !== undefined) {
      // Headers go out after the first message, so the implementation can
      // still set them before its first yield.
      let next = await iterator.next();
      res.writeHead(uRes.status, headersObject(uRes.header ?? new Headers()));
      for (; next.done !== true; next = await iterator.next()) {
        const chunk = next.value;
        last = chunk;
        onChunk(chunk);
        (res as ServerResponse).write(chunk);
        if (writableLength(res) > aheadBytes) {
          await drained(res);
        }
      }
    }
    if (!res.headersSent) {
      res.writeHead(uRes.status, headersObject(uRes.header ?? new Headers()));
    }
    if (uRes.trailer !== undefined) {
      res.addTrailers(headersObject(uRes.trailer));
    }
    await new Promise<void>((resolve, reject) => {
      res.once("close", () => reject(new Error("client closed the response")));
      res.end(() => resolve());
    });
    return last;
  } catch (err) {
    // Tell the implementation (an async generator) that its consumer failed,
    // so its finally blocks run now.
    await iterator?.throw?.(err).catch(() => {});
    throw err;
  } finally {
    await iterator?.return?.(undefined).catch(() => {});
  }
}

function writableLength(res: AnyResponse): number {
  return (res as { writableLength?: number }).writableLength ?? 0;
}

function drained(res: AnyResponse): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onDrain = () => {
      res.off("close", onClose);
      resolve();
    };
    const onClose = () => {
      res.off("drain", onDrain);
      reject(new Error("client closed the response"));
    };
    res.once("drain", onDrain);
    res.once("close", onClose);
  });
}

function headersObject(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name] = value;
  });
  return out;
}
