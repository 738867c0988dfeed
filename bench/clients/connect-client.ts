/**
 * Bench clients built with the project's createInferenceClient, so they use
 * the settings the project recommends to its users (16 MiB HTTP/2 windows
 * unless --window-bytes says otherwise), reading a stream one of two ways:
 *
 * - "messages" (the connect-node rows: gRPC, gRPC-Web, Connect binary and
 *   JSON): `client.streamInference`, connect-node's generic streaming call;
 *   each message's `data` goes to the bench's assembler, hashed after the
 *   timed part.
 * - "images" (the `sdk` rows: the binary protocols): `client.streamImages`,
 *   which reads the wire in place and yields each image whole, its SHA-256
 *   already checked against the server's. That hashing is part of the timed
 *   request (a user of streamImages pays it); the outcome's Verifiable hands
 *   the bench what the SDK checked (index, size, SHA-256 of every image), so
 *   the bench's counts and its same-bytes check across rows apply as to any
 *   row. Its first chunk is the first message the SDK decoded, seen by an
 *   interceptor, as the connect-node rows see their first message.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import { createContextKey, createContextValues, type Interceptor } from "@connectrpc/connect";
import { createInferenceClient, type ProtocolName } from "../../src/index.js";
import {
  type HashingMode,
  ImageAssembler,
  type Verifiable,
  VerificationError,
  type VerifiedImage,
} from "../verify/index.js";
import { SocketCounter } from "./connections.js";
import type { BenchClient, ExtraHeaders, StreamCall, StreamOutcome } from "./types.js";

/** Options for createConnectBenchClient. */
export interface ConnectBenchClientOptions {
  baseUrl: string;
  /** The protocol; "images" reads the binary ones only (streamImages reads JSON through connect-node). */
  protocol: ProtocolName;
  httpVersion: "1.1" | "2";
  /** HTTP/2 stream and connection window in bytes; see createInferenceClient. */
  windowBytes: number;
  headers?: ExtraHeaders;
  /**
   * How a stream is read: "messages" with client.streamInference, "images"
   * with client.streamImages (see the module comment). Default "messages".
   */
  read?: "messages" | "images";
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
export function createConnectBenchClient(options: ConnectBenchClientOptions): BenchClient {
  const sockets = new SocketCounter();
  const images = options.read === "images";
  const { client, close } = createInferenceClient({
    baseUrl: options.baseUrl,
    protocol: options.protocol,
    httpVersion: options.httpVersion,
    windowBytes: options.windowBytes,
    headers: options.headers === undefined ? undefined : { ...options.headers },
    // Only where it is used: the connect-node rows run no interceptor.
    interceptors: images ? [countMessages] : undefined,
    onSocket: sockets.track,
  });

  /** client.streamInference: messages into the bench's assembler. */
  async function streamMessages(call: StreamCall, hashing: HashingMode): Promise<StreamOutcome> {
    const assembler = new ImageAssembler(call.batchSize, hashing);
    const started = performance.now();
    let firstChunkMs = -1;
    let chunks = 0;
    for await (const response of client.streamInference(call)) {
      if (firstChunkMs < 0) {
        firstChunkMs = performance.now() - started;
      }
      chunks++;
      const metadata = response.metadata;
      const index = Number(metadata.image_index);
      assembler.declare(index, Number(metadata.image_bytes), metadata.image_sha256);
      assembler.add(index, response.data, Number(metadata.chunk_offset));
    }
    const totalMs = performance.now() - started;
    return {
      firstChunkMs,
      totalMs,
      payloadBytes: assembler.receivedBytes,
      chunks,
      chunksNominal: false,
      assembler,
    };
  }

  /**
   * client.streamImages: whole images, checked by the SDK. The SDK hashes
   * every image as it writes it, whatever the scenario's hashing mode, and
   * nothing here keeps an image once counted, so "inline" holds too.
   */
  async function streamImages(call: StreamCall): Promise<StreamOutcome> {
    const verified: VerifiedImage[] = [];
    let payloadBytes = 0;
    let chunks = 0;
    let firstChunkMs = -1;
    const started = performance.now();
    const contextValues = createContextValues().set(onMessageKey, () => {
      if (chunks++ === 0) firstChunkMs = performance.now() - started;
    });
    for await (const image of client.streamImages(call, { contextValues })) {
      verified.push({ index: image.index, bytes: image.bytes.byteLength, sha256: image.sha256 });
      payloadBytes += image.bytes.byteLength;
    }
    const totalMs = performance.now() - started;
    return {
      firstChunkMs,
      totalMs,
      payloadBytes,
      chunks,
      chunksNominal: false,
      assembler: checkedBySdk(verified, call.batchSize),
    };
  }

  return {
    sockets,
    close,
    stream: images ? streamImages : streamMessages,
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
