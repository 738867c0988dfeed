import { ConnectError } from "@connectrpc/connect";
import { createImageAssembler, type ReceivedImage } from "./image-assembler.js";
import type { ProtocolId } from "./protocols.js";
import { streamRest } from "./rest-stream.js";
import { streamRpc } from "./rpc-stream.js";
import type { StreamCallOptions, StreamRequest } from "./stream-request.js";
import { createMeteredFetch, createWireMeter, httpVersionOf } from "./wire-meter.js";

/** Options for runStream. */
export interface RunStreamOptions {
  /** The server, such as "http://localhost:8080" (no trailing slash). */
  readonly baseUrl: string;
  readonly protocol: ProtocolId;
  readonly request: StreamRequest;
  /** Extra request headers, such as credentials ({"x-api-key": KEY}). Default none. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Ends the call early (the Stop button). */
  readonly signal?: AbortSignal;
  /** Called as each image becomes whole, before the stream ends. */
  readonly onImage?: (image: ReceivedImage) => void;
  /**
   * Give the browser a turn after each message (each chunk of at most
   * 1 MB), so the page paints images as they come and takes a Stop click at
   * once. Default false. Without it a fast stream is read in microtasks
   * that never yield, and Connect JSON decodes base64 on the main thread:
   * the page would freeze until the stream ends. Costs one task per message
   * (tens of microseconds), so the benchmark leaves it off.
   */
  readonly yieldToBrowser?: boolean;
}

/**
 * One streamed batch as the page saw it. Times are performance.now()
 * milliseconds; a call that failed or was stopped keeps what arrived.
 */
export interface StreamRun {
  readonly protocol: ProtocolId;
  readonly request: StreamRequest;
  /** When the call was made. */
  readonly startedMs: number;
  /** When the response headers arrived. */
  readonly headersMs?: number;
  /** When the first body byte arrived. */
  readonly firstByteMs?: number;
  /** When the first image was whole. */
  readonly firstImageMs?: number;
  /** When the call ended (last byte, error or stop). */
  readonly endMs: number;
  /** Image bytes received (PNG bytes, not wire bytes). */
  readonly imageBytes: number;
  /** Response body bytes received: image bytes plus the protocol's framing. */
  readonly bodyBytes: number;
  /** Protocol messages (RPC) or body reads (REST). */
  readonly messages: number;
  /** The images that arrived whole, in order of arrival. */
  readonly images: readonly ReceivedImage[];
  /** The HTTP version the browser used ("h2", "http/1.1"), or "" when it does not say. */
  readonly httpVersion: string;
  /** Why the call ended early: the server's error, or Canceled for a stop. */
  readonly error?: ConnectError;
}

/**
 * Streams one batch over one protocol and measures it. Never throws: an
 * error, including a stop, is in StreamRun.error. A call that ends
 * normally is checked to have brought every image of the batch whole.
 */
export async function runStream(options: RunStreamOptions): Promise<StreamRun> {
  const meter = createWireMeter();
  const fetch = createMeteredFetch(meter);
  let firstImageMs: number | undefined;
  const assembler = createImageAssembler((image) => {
    firstImageMs ??= image.wholeMs;
    options.onImage?.(image);
  });
  let messages = 0;
  const callOptions: StreamCallOptions = {
    baseUrl: options.baseUrl,
    request: options.request,
    headers: options.headers ?? {},
    signal: options.signal,
    fetch,
    onPiece: assembler.add,
    afterMessage() {
      messages++;
      return options.yieldToBrowser === true ? yieldToBrowser() : undefined;
    },
  };
  const startedMs = performance.now();
  let error: ConnectError | undefined;
  try {
    if (options.protocol === "rest") {
      await streamRest(callOptions);
    } else {
      await streamRpc(options.protocol, callOptions);
    }
    assembler.finish();
    if (assembler.images.length !== options.request.batchSize) {
      throw new Error(
        `the stream ended with ${assembler.images.length} of ${options.request.batchSize} images`,
      );
    }
  } catch (err) {
    error = ConnectError.from(err);
  }
  const endMs = performance.now();
  return {
    protocol: options.protocol,
    request: options.request,
    startedMs,
    headersMs: meter.headersMs,
    firstByteMs: meter.firstByteMs,
    firstImageMs,
    endMs,
    imageBytes: assembler.receivedBytes,
    bodyBytes: meter.bodyBytes,
    messages,
    images: assembler.images,
    httpVersion: httpVersionOf(meter),
    error,
  };
}

/** The figures of a run, in ms and MB/s (MB = 10^6 bytes, as the benchmark counts). */
export interface RunFigures {
  readonly firstByteMs?: number;
  readonly firstImageMs?: number;
  readonly totalMs: number;
  readonly megabytesPerSecond: number;
}

/** Times relative to the call, and throughput of image bytes. */
export function figuresOf(run: StreamRun): RunFigures {
  const totalMs = run.endMs - run.startedMs;
  return {
    firstByteMs: run.firstByteMs === undefined ? undefined : run.firstByteMs - run.startedMs,
    firstImageMs: run.firstImageMs === undefined ? undefined : run.firstImageMs - run.startedMs,
    totalMs,
    megabytesPerSecond: totalMs > 0 ? run.imageBytes / 1e6 / (totalMs / 1000) : 0,
  };
}

/**
 * Resolves in a new task: the browser may paint and handle input first.
 * (A MessageChannel message, not setTimeout, which is clamped to 4 ms.)
 */
function yieldToBrowser(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}
