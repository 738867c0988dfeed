import type { ServerResponse } from "node:http";
import type { UniversalServerResponse } from "@connectrpc/connect/protocol";
import type { AnyResponse } from "./rest-route.js";

/** Called with the size of each body chunk written, in bytes. */
export type OnChunk = (bytes: number) => void;

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
  splice?: Uint8Array[],
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
        // Flag 0: an uncompressed data message (not a trailer or end-of-stream).
        const payload = chunk[0] === 0 ? splice?.shift() : undefined;
        let flushed: boolean;
        if (payload === undefined) {
          onChunk(chunk.byteLength);
          flushed = (res as ServerResponse).write(chunk);
        } else {
          const head = spliceHead(chunk, payload.byteLength);
          onChunk(head.byteLength + payload.byteLength);
          (res as ServerResponse).write(head);
          flushed = (res as ServerResponse).write(payload);
        }
        // 'drain' comes only after a write returned false, so wait only then.
        if (!flushed && writableLength(res) > aheadBytes) {
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

/**
 * Rewrites an enveloped message so that `payload` can follow it as field 4
 * (`bytes data = 4`): the envelope's length grows by the field's size, and
 * the field's tag and length are appended. Only the small message is
 * copied; the payload is written as it is. See splicedPayload.
 */
function spliceHead(envelope: Uint8Array, payloadBytes: number): Buffer {
  const messageBytes = envelope.byteLength - 5;
  const fieldHead = [0x22]; // field 4, wire type 2 (length-delimited)
  for (let n = payloadBytes; ; n >>>= 7) {
    if (n < 0x80) {
      fieldHead.push(n);
      break;
    }
    fieldHead.push((n & 0x7f) | 0x80);
  }
  const head = Buffer.allocUnsafe(5 + messageBytes + fieldHead.length);
  head[0] = 0;
  head.writeUInt32BE(messageBytes + fieldHead.length + payloadBytes, 1);
  head.set(envelope.subarray(5), 5);
  head.set(fieldHead, 5 + messageBytes);
  return head;
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
