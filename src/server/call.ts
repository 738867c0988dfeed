import { EventEmitter, once } from "node:events";
import { Code, ConnectError } from "@connectrpc/connect";
import type { HttpVersionLabel, ProtocolLabel } from "../observability/index.js";

/**
 * Who ended a call:
 *
 * - "server": the server finished it, with success or with an error it sent;
 * - "client": the client cancelled, reset the stream or hung up;
 * - "timeout": one of the server's timeouts cut it (body, stream idle);
 * - "shutdown": the server cut it at the end of its grace period;
 * - "reset": the HTTP/2 layer reset it (a protocol error, or a connection
 *   closed for resetting too many streams).
 */
export type EndedBy = "server" | "client" | "timeout" | "shutdown" | "reset";

/** How a call ended: an error (undefined for success) and who ended it. */
export interface CallOutcome {
  readonly error?: ConnectError;
  readonly endedBy: EndedBy;
}

// The errors that end calls cut off by a shutdown, told apart from the
// same code sent for other reasons.
const shutdownErrors = new WeakSet<ConnectError>();

/** The error calls cut off at the end of a shutdown's grace period end with. */
export function shutdownError(): ConnectError {
  const error = new ConnectError("server is shutting down", Code.Unavailable);
  shutdownErrors.add(error);
  return error;
}

/**
 * The outcome a failure gives a call: a client's cancel is the client's,
 * an expired deadline or stalled stream a timeout, a shutdown's cut the
 * shutdown's, anything else the server's answer.
 */
export function outcomeOf(reason: unknown): CallOutcome {
  const error = ConnectError.from(reason);
  if (error.code === Code.Canceled || error.code === Code.Aborted) {
    return { error, endedBy: "client" };
  }
  if (error.code === Code.DeadlineExceeded) return { error, endedBy: "timeout" };
  return { error, endedBy: shutdownErrors.has(error) ? "shutdown" : "server" };
}

/** What is known of a call when it arrives. */
export interface CallInfo {
  readonly protocol: ProtocolLabel;
  readonly httpVersion: HttpVersionLabel;
  /** A label from a fixed set: "modelmora.InferenceService/StreamInference", "POST /infer/stream", "unknown". */
  readonly method: string;
  /** Whether the response is a stream of messages. */
  readonly streaming: boolean;
}

/**
 * One call as the server sees it, whichever protocol carries it: created at
 * dispatch, finished once. Layers that learn how the call ends say so with
 * finish(); the first outcome recorded wins. When the response closes the
 * call is reported once, to the log and the metrics, with that outcome.
 */
export class Call {
  /** performance.now() when the request arrived. */
  readonly startedMs = performance.now();
  /** performance.now() when the first response body byte was written. */
  firstChunkMs: number | undefined;
  /** Response body bytes written (after protocol framing, before HTTP framing). */
  bytesSent = 0;
  /** The caller's key id, once authenticated (auth on only). */
  keyId: string | undefined;
  /** The request id the server gave the call. */
  requestId: string | undefined;
  /** Whether the call got past the guard to its handler. */
  dispatched = false;
  /**
   * Image payloads that skip protobuf serialization, in message order: set
   * for binary image streams only (see ZeroCopyPayloads).
   */
  readonly payloads: ZeroCopyPayloads | undefined;
  #outcome: CallOutcome | undefined;
  #reported = false;

  constructor(
    readonly info: CallInfo,
    zeroCopy: boolean,
    private readonly report: (call: Call, outcome: CallOutcome) => void,
  ) {
    this.payloads = zeroCopy ? new ZeroCopyPayloads() : undefined;
  }

  /** The outcome recorded so far, if any. */
  get outcome(): CallOutcome | undefined {
    return this.#outcome;
  }

  /** Counts body bytes written to the client. */
  countBytes(bytes: number): void {
    this.firstChunkMs ??= performance.now();
    this.bytesSent += bytes;
  }

  /** Records how the call ends, unless an outcome was recorded already. */
  finish(outcome: CallOutcome): void {
    this.#outcome ??= outcome;
  }

  /**
   * The response has closed: reports the call, with its recorded outcome or
   * else `fallback`. Later calls do nothing.
   */
  close(fallback: CallOutcome): void {
    if (this.#reported) return;
    this.#reported = true;
    this.#outcome ??= fallback;
    this.report(this, this.#outcome);
  }
}

/**
 * Zero-copy image chunks. Serializing a 1 MB `bytes` field through
 * protobuf-es and Connect's envelope copies it three times and allocates
 * about 4 MB (a growing buffer, the final slice, the envelope): on a 2-core
 * machine that was the largest cost of a binary stream. So for binary
 * protocols the service yields each message with an empty `data` field and
 * queues the payload here; the response writer appends field 4 (tag,
 * length, bytes) to each serialized message and fixes the envelope length.
 * Proto3 parsers accept fields in any order, so the bytes on the wire decode
 * to the same message. JSON protocols serialize normally.
 */
export class ZeroCopyPayloads {
  readonly #queue: Uint8Array[] = [];
  /** Queues the payload of the next message the service yields. */
  push(payload: Uint8Array): void {
    this.#queue.push(payload);
  }
  /** The payload of the next data message written, if one was queued. */
  shift(): Uint8Array | undefined {
    return this.#queue.shift();
  }
}

/** Options for createCallRegistry. */
export interface CallRegistryOptions {
  /** Called as each call starts. */
  onStart(call: Call): void;
  /** Called once as each call ends, with its outcome. */
  onEnd(call: Call, outcome: CallOutcome): void;
}

/** The calls in flight. */
export interface CallRegistry extends Iterable<Call> {
  /** Starts a call. Its close() removes it and reports it. */
  start(info: CallInfo, zeroCopy: boolean): Call;
  /** Calls in flight now. */
  readonly size: number;
  /** Resolves once no call is in flight (at once when none is). */
  idle(): Promise<void>;
}

/** Creates the registry of calls in flight. */
export function createCallRegistry(options: CallRegistryOptions): CallRegistry {
  const active = new Set<Call>();
  const events = new EventEmitter();
  // Every waiter of idle() listens at once: shutdown, tests.
  events.setMaxListeners(0);
  const ended = (call: Call, outcome: CallOutcome) => {
    active.delete(call);
    options.onEnd(call, outcome);
    if (active.size === 0) events.emit("idle");
  };
  return {
    start(info, zeroCopy) {
      const call = new Call(info, zeroCopy, ended);
      active.add(call);
      options.onStart(call);
      return call;
    },
    get size() {
      return active.size;
    },
    async idle() {
      if (active.size > 0) await once(events, "idle");
    },
    [Symbol.iterator]: () => active.values(),
  };
}
