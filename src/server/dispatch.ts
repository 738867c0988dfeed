import http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Principal } from "../auth/index.js";
import type { InferenceRequest } from "../gen/modelmora/inference_pb.js";
import { type Call, type CallOutcome, type CallRegistry, outcomeOf } from "./call.js";
import type { CallGuard } from "./call-guard.js";
import { withHttpStatus, writeErrorResponse } from "./error-response.js";
import {
  type AnyRequest,
  type AnyResponse,
  headersOf,
  httpVersionOf,
  pathOf,
} from "./http-types.js";
import { type InferenceLimits, validateInferenceRequest } from "./inference-request.js";
import type { AdmittedStream } from "./inference-service.js";
import { type BodyLimits, isBodyFailure, readRequestBody } from "./request-body.js";
import type { RestRoute } from "./rest-routes.js";
import { readRpcRequest } from "./rpc-request.js";
import type { RpcRoute } from "./rpc-routes.js";
import { protocolGuess, type WireFormat, wireFormatOf } from "./wire-format.js";

/** A route of the server: an RPC method or a REST path. */
export type Route = RpcRoute | RestRoute;

/** Options for createDispatcher. */
export interface DispatcherOptions {
  readonly routes: readonly Route[];
  readonly calls: CallRegistry;
  readonly guard: CallGuard;
  readonly body: BodyLimits;
  readonly limits: InferenceLimits;
  /** Whether binary image streams send their payloads without copies. */
  readonly zeroCopy: boolean;
  /** True once the server is shutting down. */
  isDraining(): boolean;
  /** A client reset an HTTP/2 stream that had reached its handler. */
  onStreamReset(req: AnyRequest): void;
  /** A request body did not arrive within its timeout; its stream (HTTP/1.1: connection) is closed. */
  onBodyTimeout(): void;
}

/**
 * Creates the request handler: path → route, a Call for every request,
 * then the same steps for every route and protocol: 404 for an unknown
 * path, 405 (with Allow) for a wrong method, 415 for an RPC content type
 * the method doesn't take, the guard (shutdown, credentials, scope, rate),
 * the request body (size and time bounds), the request message (read and
 * checked before connect-es sees it), and for image streams the stream slot
 * once the request is known to be good. Errors are answered the way the
 * request's protocol reads them.
 */
export function createDispatcher(
  options: DispatcherOptions,
): (req: AnyRequest, res: AnyResponse) => void {
  const routes = new Map(options.routes.map((route) => [route.path, route]));
  return function dispatch(req, res) {
    const route = routes.get(pathOf(req));
    const format = route?.kind === "rpc" ? wireFormatOf(req, route.streaming) : undefined;
    const call = options.calls.start(
      {
        protocol:
          route?.kind === "rest" ? "rest" : (format?.protocol ?? protocolOfUnknown(req, route)),
        httpVersion: httpVersionOf(req),
        method: route?.label ?? "unknown",
        streaming: route?.streaming ?? false,
      },
      options.zeroCopy && route?.kind === "rpc" && route.imageStream && format?.binary === true,
    );
    // A write after the client went away must not crash the process.
    res.on("error", () => {});
    const http1 = !("stream" in req);
    if (http1 && options.isDraining()) {
      res.setHeader("connection", "close");
    }
    res.once("close", () => {
      call.close(closedOutcome(req, res));
      if (call.outcome?.endedBy === "client" && call.dispatched && !http1) {
        options.onStreamReset(req);
      }
      if (http1 && options.isDraining()) {
        // Keep-alive ends with the drain: no next request on this socket.
        req.socket.end();
      }
    });
    serve(options, req, res, call, route, format).catch((reason: unknown) => {
      const outcome = outcomeOf(reason);
      call.finish(outcome);
      const bodyFailed = isBodyFailure(reason);
      if (bodyFailed && outcome.endedBy === "timeout") options.onBodyTimeout();
      abandonBody(req, res, bodyFailed);
      writeErrorResponse(
        res,
        route?.kind === "rpc" ? format : undefined,
        outcome.error as ConnectError,
      );
    });
  };
}

/** The steps every route shares: route, method, content type, guard; then the route's own. */
async function serve(
  options: DispatcherOptions,
  req: AnyRequest,
  res: AnyResponse,
  call: Call,
  route: Route | undefined,
  format: WireFormat | undefined,
): Promise<void> {
  const method = req.method ?? "GET";
  if (route === undefined) {
    throw withHttpStatus(
      new ConnectError(`no route for ${method} ${pathOf(req).slice(0, 128)}`, Code.NotFound),
      404,
    );
  }
  if (!route.methods.includes(method)) {
    res.setHeader("allow", route.methods.join(", "));
    throw withHttpStatus(
      new ConnectError(
        `${route.path} accepts ${route.methods.join(" or ")}, not ${method}`,
        Code.Unimplemented,
      ),
      405,
    );
  }
  if (route.kind === "rpc" && format === undefined) {
    const contentType = String(req.headers["content-type"] ?? "none").slice(0, 64);
    throw withHttpStatus(
      new ConnectError(
        `content type "${contentType}" is not one ${route.label} accepts over gRPC, gRPC-Web or Connect`,
        Code.Unimplemented,
      ),
      415,
    );
  }
  const principal = await options.guard.admit(headersOf(req), route.access, call);
  if (route.kind === "rest") {
    call.dispatched = true;
    await route.serve({ req, res, call, principal });
  } else {
    await serveRpc(options, req, res, call, route, format as WireFormat, principal);
  }
}

/**
 * An RPC: its body read and checked here, before connect-es sees it; for
 * StreamInference the request validated and the stream slot taken; then
 * connect-es serves it.
 */
async function serveRpc(
  options: DispatcherOptions,
  req: AnyRequest,
  res: AnyResponse,
  call: Call,
  route: RpcRoute,
  format: WireFormat,
  principal: Principal,
): Promise<void> {
  const headers = headersOf(req);
  const body = req.method === "GET" ? new Uint8Array(0) : await readRequestBody(req, options.body);
  const rpc = readRpcRequest(
    route.method,
    format,
    headers,
    req.url ?? "/",
    body,
    options.body.maxBytes,
  );
  let admitted: AdmittedStream | undefined;
  if (route.imageStream) {
    const request = rpc.message as InferenceRequest;
    const model = validateInferenceRequest(request, options.limits);
    const admission = await options.guard.openStream(principal);
    const stream: AdmittedStream = {
      call,
      request: { model, prompt: request.prompt, batchSize: request.batchSize },
      admission,
      started: false,
    };
    // The stream releases its admission once it has started; a call that
    // ends before that releases it here.
    res.once("close", () => {
      if (!stream.started) admission.release();
    });
    admitted = stream;
  }
  call.dispatched = true;
  route.serve(req, res, call, headers, rpc.body, admitted);
}

/** The protocol label of a request with no route or format: by its content type. */
function protocolOfUnknown(req: AnyRequest, route: Route | undefined) {
  const contentType = String(req.headers["content-type"] ?? "");
  return route !== undefined ||
    contentType.startsWith("application/grpc") ||
    contentType.startsWith("application/connect")
    ? protocolGuess(req)
    : "rest";
}

/**
 * How a call ended when its response closed with no outcome recorded: a
 * finished response is the server's; an HTTP/2 stream reset with a code
 * other than CANCEL or NO_ERROR was reset by the HTTP/2 layer (a protocol
 * error, a refused stream); anything else is a client that went away.
 */
function closedOutcome(req: AnyRequest, res: AnyResponse): CallOutcome {
  if (res.writableFinished) return { endedBy: "server" };
  const rstCode = "stream" in req ? req.stream.rstCode : undefined;
  const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;
  if (rstCode !== undefined && rstCode !== NGHTTP2_CANCEL && rstCode !== NGHTTP2_NO_ERROR) {
    const code = rstCode === NGHTTP2_REFUSED_STREAM ? Code.Unavailable : Code.Internal;
    return {
      error: new ConnectError(`HTTP/2 stream reset with code ${rstCode}`, code),
      endedBy: "reset",
    };
  }
  return {
    error: new ConnectError("client went away before the response ended", Code.Canceled),
    endedBy: "client",
  };
}

/**
 * After an error a request body may be left unread. HTTP/1.1: when reading
 * it failed (over the limit, too slow) the connection closes after the
 * answer, since the unread bytes would be taken for the next request;
 * otherwise (refused before it was read) Node reads and discards the rest
 * itself, within its request timeout. HTTP/2: Node pauses a session's input
 * while a stream's body sits unread, so the rest is discarded and, once the
 * answer is sent, the stream is reset with NO_ERROR so the client stops
 * sending (RFC 9113 §8.1).
 */
function abandonBody(req: AnyRequest, res: AnyResponse, bodyFailed: boolean): void {
  if (req.complete) return;
  if (!("stream" in req)) {
    if (bodyFailed && !res.headersSent) res.setHeader("connection", "close");
    return;
  }
  const stream = req.stream;
  // The compat layer's listener, which pushes into the abandoned request.
  stream.removeAllListeners("data");
  stream.resume();
  res.once("finish", () => stream.close(http2.constants.NGHTTP2_NO_ERROR));
}
