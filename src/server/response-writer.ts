import type { ServerResponse } from "node:http";
import type { UniversalServerResponse } from "@connectrpc/connect/protocol";
import type { Call } from "./call.js";
import { type AnyResponse, headersObject } from "./http-types.js";
import { clientClosed, drained, queuedBytes } from "./response-drain.js";

/** How a response is written. */
export interface ResponseWriterOptions {
  /**
   * Bytes queued in the HTTP stream before the writer waits for 'drain'.
   * Waiting for every 1 MB message to drain (Node's high-water mark is
   * 16 KB) leaves the socket idle while the next message is serialized; one
   * message of slack keeps it busy. Memory stays bounded per stream.
   */
  readonly aheadBytes: number;
  /** How long a wait for 'drain' may last before the stream is given up, ms. */
  readonly stallTimeoutMs: number;
}

/**
 * Writes a Connect universal response to a Node response, like
 * connect-node's universalResponseToNodeResponse, but with write-ahead (see
 * aheadBytes), a bound on how long a client may stop reading, byte counts
 * and first-chunk time on the call, and the zero-copy payloads of the call
 * appended to their messages (see ZeroCopyPayloads).
 *
 * Resolves when the response has ended; rejects with CANCELED when the
 * client went away and DEADLINE_EXCEEDED when it stopped reading.
 */
export async function writeUniversalResponse(
  uRes: UniversalServerResponse,
  res: AnyResponse,
  call: Call,
  options: ResponseWriterOptions,
): Promise<void> {
  const iterator = uRes.body?.[Symbol.asyncIterator]();
  const out = res as ServerResponse;
  try {
    if (res.destroyed) {
      throw clientClosed();
    }
    if (iterator !== undefined) {
      // Headers go out after the first message, so the implementation can
      // still set them before its first yield.
      let next = await iterator.next();
      res.writeHead(uRes.status, headersObject(uRes.header ?? new Headers()));
      for (; next.done !== true; next = await iterator.next()) {
        const chunk = next.value;
        // Flag 0: an uncompressed data message (not a trailer or end-of-stream).
        const payload = chunk[0] === 0 ? call.payloads?.shift() : undefined;
        let flushed: boolean;
        if (payload === undefined) {
          call.countBytes(chunk.byteLength);
          flushed = out.write(chunk);
        } else {
          const head = spliceHead(chunk, payload.byteLength);
          call.countBytes(head.byteLength + payload.byteLength);
          out.write(head);
          flushed = out.write(payload);
        }
        // 'drain' comes only after a write returned false, so wait only then.
        if (!flushed && queuedBytes(res) > options.aheadBytes) {
          await drained(res, options.stallTimeoutMs);
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
      res.once("close", () => reject(clientClosed()));
      res.end(() => resolve());
    });
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
 * copied; the payload is written as it is.
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
