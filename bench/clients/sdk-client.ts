/**
 * Bench client for the `sdk` rows: the project's SDK as its users call it
 * for images, `createInferenceClient({ …, windowBytes, headers, onSocket })`
 * then `for await (const image of client.streamImages(request))`, over
 * gRPC, gRPC-Web or Connect (binary). streamImages reads the wire in place
 * and yields each image whole, its SHA-256 already checked against the
 * server's: that hashing is part of the timed request here (a user of
 * streamImages pays it), where the other rows hash after the timed part.
 * The outcome's Verifiable hands the bench what the SDK checked (index,
 * size, SHA-256 of every image), so the bench's counts and its same-bytes
 * check across rows apply as to any row.
 *
 * The first chunk is the first response message the SDK decoded, seen by
 * an interceptor (as the connect-node rows see their first message).
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import { createContextKey, createContextValues, type Interceptor } from "@connectrpc/connect";
import { createInferenceClient, type WireProtocolName } from "../../src/index.js";
import { type Verifiable, VerificationError, type VerifiedImage } from "../verify/index.js";
import { SocketCounter } from "./connections.js";
import type { BenchClient, ExtraHeaders, StreamCall, StreamOutcome } from "./types.js";

/** Options for createSdkBenchClient. */
export interface SdkBenchClientOptions {
  baseUrl: string;
  /** A binary protocol: streamImages reads these on the wire itself. */
  protocol: WireProtocolName;
  httpVersion: "1.1" | "2";
  /** HTTP/2 stream and connection window in bytes; see createInferenceClient. */
  windowBytes: number;
  headers?: ExtraHeaders;
}

/** Called with each response message of the call that carries it. */
const onMessageKey = createContextKey<(() => void) | undefined>(undefined, {
  description: "bench: called for each StreamInference message",
});

/**
 * Tells a call's onMessage (from its context values) about each response
 * message as the SDK hands them on: one generator step per 1 MB message.
 */
const countMessages: Interceptor = (next) =>
  async function countMessagesOf(req) {
    const res = await next(req);
    const onMessage = req.contextValues.get(onMessageKey);
    if (!res.stream || onMessage === undefined) return res;
    return { ...res, message: counted(res.message, onMessage) };
  };

async function* counted<T>(messages: AsyncIterable<T>, onMessage: () => void): AsyncGenerator<T> {
  for await (const message of messages) {
    onMessage();
    yield message;
  }
}

/** Creates one client (one HTTP/2 session, or one HTTP/1.1 keep-alive agent). */
export function createSdkBenchClient(options: SdkBenchClientOptions): BenchClient {
  const sockets = new SocketCounter();
  const { client, close } = createInferenceClient({
    baseUrl: options.baseUrl,
    protocol: options.protocol,
    httpVersion: options.httpVersion,
    windowBytes: options.windowBytes,
    headers: options.headers === undefined ? undefined : { ...options.headers },
    interceptors: [countMessages],
    onSocket: sockets.track,
  });

  return {
    sockets,
    close,
    // The SDK hashes every image as it writes it, whatever the scenario's
    // hashing mode; it keeps no image once yielded, so "inline" holds too.
    async stream(call: StreamCall): Promise<StreamOutcome> {
      const images: VerifiedImage[] = [];
      let payloadBytes = 0;
      let chunks = 0;
      let firstChunkMs = -1;
      const started = performance.now();
      const contextValues = createContextValues().set(onMessageKey, () => {
        if (chunks++ === 0) firstChunkMs = performance.now() - started;
      });
      for await (const image of client.streamImages(call, { contextValues })) {
        images.push({ index: image.index, bytes: image.bytes.byteLength, sha256: image.sha256 });
        payloadBytes += image.bytes.byteLength;
      }
      const totalMs = performance.now() - started;
      return {
        firstChunkMs,
        totalMs,
        payloadBytes,
        chunks,
        chunksNominal: false,
        assembler: checkedBySdk(images, call.batchSize),
      };
    },
    async unary(): Promise<void> {
      const response = await client.listModels({});
      if (response.models.length === 0) {
        throw new VerificationError("ListModels answered with no models");
      }
    },
  };
}

/**
 * What the SDK verified, as the bench's Verifiable: the SDK checked each
 * image's size and SHA-256 against what the server declared; the bench
 * still checks that every image it asked for (0..batchSize-1) arrived, once.
 */
function checkedBySdk(images: readonly VerifiedImage[], batchSize: number): Verifiable {
  return {
    finish() {
      const sorted = [...images].sort((a, b) => a.index - b.index);
      const indexes = sorted.map((image) => image.index).join(",");
      const expected = Array.from({ length: batchSize }, (_, index) => index).join(",");
      if (indexes !== expected) {
        throw new VerificationError(
          `streamImages yielded images [${indexes}], expected [${expected}]`,
        );
      }
      return sorted;
    },
  };
}
