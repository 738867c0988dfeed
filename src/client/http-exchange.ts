import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import { Code, ConnectError } from "@connectrpc/connect";
import { connectErrorFromRstCode, connectErrorFromTransport } from "./transport-error.js";

/**
 * The HTTP/2 connection of a client, as connect-node's Http2SessionManager
 * offers it: a stream per request on one session, opened (again) when
 * needed.
 */
export interface Http2StreamSource {
  request(
    method: string,
    path: string,
    headers: http2.OutgoingHttpHeaders,
    options: Omit<http2.ClientSessionRequestOptions, "signal">,
  ): Promise<http2.ClientHttp2Stream>;
  /** Tells the manager a stream read data (it skips keep-alive pings meanwhile). */
  notifyResponseByteRead(stream: http2.ClientHttp2Stream): void;
}

/** Where requests go: the client's HTTP/2 session, or its HTTP/1.1 keep-alive agent. */
export type HttpTarget =
  | { readonly httpVersion: "2"; readonly sessionManager: Http2StreamSource }
  | { readonly httpVersion: "1.1"; readonly agent: http.Agent };

/** One POST with a body known in advance. */
export interface ExchangeRequest {
  readonly url: string;
  readonly header: Headers;
  readonly body: Uint8Array;
  /**
   * Aborting it ends the exchange, with the signal's reason as its error:
   * an HTTP/2 stream is reset with CANCEL, an HTTP/1.1 request destroyed
   * (its connection closes), so the server sees the call cancelled.
   */
  readonly signal: AbortSignal;
}

/** A response whose headers arrived; its body is read with read(). */
export interface ExchangeResponse {
  readonly status: number;
  readonly header: Headers;
  /** HTTP trailers; complete once read() resolved. */
  readonly trailer: Headers;
  /**
   * Hands the body to onData buffer by buffer as the network delivers it
   * (flowing mode: Node never joins buffers, as an async iterator over a
   * stream does when several are waiting). Resolves at the end of the body;
   * rejects with a ConnectError. If onData throws, the exchange ends (as
   * by abort) with that error. Call once.
   */
  read(onData: (chunk: Uint8Array) => void): Promise<void>;
  /**
   * Stops delivery until resume(). A paused HTTP/2 stream grants the
   * server no more flow-control window, so the server waits: backpressure.
   */
  pause(): void;
  resume(): void;
}

/**
 * Sends a request and resolves when the response headers arrive; rejects
 * with a ConnectError (connectErrorFromTransport) if the server can't be
 * reached, the stream is reset or the signal aborts first.
 */
export function exchange(target: HttpTarget, request: ExchangeRequest): Promise<ExchangeResponse> {
  return target.httpVersion === "2"
    ? exchangeHttp2(target.sessionManager, request)
    : exchangeHttp1(target.agent, request);
}

/**
 * What both HTTP versions share: the one failure of an exchange, the
 * promise of the headers and the promise of the body, each settled once.
 */
class ExchangeState {
  failure: ConnectError | undefined;
  ended = false;
  readonly trailer = new Headers();
  private body: { resolve(): void; reject(error: ConnectError): void } | undefined;
  private readonly onAbort: () => void;

  constructor(
    private readonly signal: AbortSignal,
    private readonly rejectHeaders: (error: ConnectError) => void,
    /** Stops the request on the wire, after a failure. */
    private readonly stop: () => void,
    /** The HTTP/2 stream's RST_STREAM code, if any: it decides the error's code. */
    private readonly rstCode: () => number | undefined,
  ) {
    this.onAbort = () => this.fail(abortReason(signal));
    signal.addEventListener("abort", this.onAbort, { once: true });
  }

  /** Ends the exchange with an error, once; later failures are ignored. */
  fail(reason: unknown): void {
    if (this.failure !== undefined || this.ended) return;
    this.failure = connectErrorFromTransport(reason, this.rstCode());
    this.signal.removeEventListener("abort", this.onAbort);
    this.stop();
    this.rejectHeaders(this.failure);
    this.body?.reject(this.failure);
  }

  /** The body ended normally. */
  end(): void {
    if (this.failure !== undefined || this.ended) return;
    this.ended = true;
    this.signal.removeEventListener("abort", this.onAbort);
    this.body?.resolve();
  }

  /** The promise read() returns. */
  readBody(start: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.failure !== undefined) {
        reject(this.failure);
        return;
      }
      if (this.body !== undefined) {
        reject(new ConnectError("the response body is already being read", Code.Internal));
        return;
      }
      this.body = { resolve, reject };
      start();
    });
  }

  /** Wraps onData: a throw ends the exchange with that error. */
  deliver(onData: (chunk: Uint8Array) => void, chunk: Uint8Array): void {
    if (this.failure !== undefined) return;
    try {
      onData(chunk);
    } catch (err) {
      this.fail(err);
    }
  }
}

function exchangeHttp2(
  manager: Http2StreamSource,
  request: ExchangeRequest,
): Promise<ExchangeResponse> {
  const url = new URL(request.url);
  return new Promise((resolve, reject) => {
    let stream: http2.ClientHttp2Stream | undefined;
    const state = new ExchangeState(
      request.signal,
      reject,
      () => {
        // CANCEL is the code gRPC gives a client that stops a call
        // (cancellation and deadlines alike); Node's default would be
        // INTERNAL_ERROR.
        if (stream !== undefined && !stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
      },
      () => stream?.rstCode,
    );
    if (request.signal.aborted) {
      state.fail(abortReason(request.signal));
      return;
    }
    manager.request("POST", url.pathname + url.search, nodeHeaders(request.header), {}).then(
      (opened) => {
        stream = opened;
        if (state.failure !== undefined) {
          opened.close(http2.constants.NGHTTP2_CANCEL);
          return;
        }
        opened.on("error", (err) => state.fail(err));
        opened.once("close", () => {
          // Node defers close until a client has read the body to its end,
          // so a close before the end is a reset or a broken connection.
          if (!state.ended) {
            state.fail(
              connectErrorFromRstCode(opened.rstCode) ??
                new ConnectError(
                  "http/2 stream closed before the response ended",
                  Code.Unavailable,
                ),
            );
          }
        });
        opened.on("trailers", (trailers) => appendNodeHeaders(state.trailer, trailers));
        opened.once("end", () => state.end());
        opened.once("response", (headers) => {
          resolve({
            status: Number(headers[":status"] ?? 0),
            header: appendNodeHeaders(new Headers(), headers),
            trailer: state.trailer,
            read(onData) {
              return state.readBody(() => {
                opened.on("data", (chunk: Buffer) => {
                  // Lets the session manager know the connection is alive
                  // (it skips keep-alive pings while data flows).
                  manager.notifyResponseByteRead(opened);
                  state.deliver(onData, chunk);
                });
              });
            },
            pause: () => opened.pause(),
            resume: () => opened.resume(),
          });
        });
        opened.end(request.body);
      },
      (err: unknown) => state.fail(err),
    );
  });
}

function exchangeHttp1(agent: http.Agent, request: ExchangeRequest): Promise<ExchangeResponse> {
  const url = new URL(request.url);
  return new Promise((resolve, reject) => {
    const headers = nodeHeaders(request.header);
    headers["content-length"] = String(request.body.byteLength);
    const send = url.protocol === "https:" ? https.request : http.request;
    const req = send(url, { method: "POST", agent, headers });
    const state = new ExchangeState(
      request.signal,
      reject,
      () => req.destroy(),
      () => undefined,
    );
    if (request.signal.aborted) {
      state.fail(abortReason(request.signal));
      return;
    }
    req.on("error", (err) => state.fail(err));
    req.once("response", (res) => {
      res.on("error", (err) => state.fail(err));
      res.once("close", () => {
        if (!state.ended) {
          state.fail(
            new ConnectError("the connection closed before the response ended", Code.Unavailable),
          );
        }
      });
      res.once("end", () => {
        appendNodeHeaders(state.trailer, res.trailers);
        state.end();
      });
      resolve({
        status: res.statusCode ?? 0,
        header: appendNodeHeaders(new Headers(), res.headers),
        trailer: state.trailer,
        read(onData) {
          return state.readBody(() => {
            res.on("data", (chunk: Buffer) => state.deliver(onData, chunk));
          });
        },
        pause: () => res.pause(),
        resume: () => res.resume(),
      });
    });
    req.end(request.body);
  });
}

/** An aborted signal's reason as a ConnectError: CANCELED unless it says otherwise. */
function abortReason(signal: AbortSignal): ConnectError {
  return ConnectError.from(signal.reason, Code.Canceled);
}

function nodeHeaders(header: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of header) out[name] = value;
  return out;
}

/** Copies Node's headers (HTTP/2 pseudo-headers left out) into a Headers. */
function appendNodeHeaders(
  target: Headers,
  headers: http.IncomingHttpHeaders | http2.IncomingHttpHeaders | NodeJS.Dict<string>,
): Headers {
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(":") || value === undefined) continue;
    if (Array.isArray(value)) {
      for (const item of value) target.append(name, item);
    } else {
      target.append(name, String(value));
    }
  }
  return target;
}
