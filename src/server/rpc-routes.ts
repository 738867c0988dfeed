import type { DescMethod } from "@bufbuild/protobuf";
import {
  createConnectRouter,
  createContextKey,
  createContextValues,
  type Interceptor,
} from "@connectrpc/connect";
import type { UniversalServerRequest } from "@connectrpc/connect/protocol";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
} from "@connectrpc/connect-node";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import { InferenceService } from "../gen/modelmora/inference_pb.js";
import { type Call, outcomeOf } from "./call.js";
import type { Access } from "./call-guard.js";
import { createHealthService, type HealthState } from "./health-service.js";
import type { AnyRequest, AnyResponse } from "./http-types.js";
import {
  type AdmittedStream,
  admittedStreamKey,
  type InferenceServiceImpl,
} from "./inference-service.js";
import { type ResponseWriterOptions, writeUniversalResponse } from "./response-writer.js";

/** What the RPC routes need from the server. */
export interface RpcRoutesOptions {
  readonly service: InferenceServiceImpl;
  readonly health: HealthState;
  /** What health RPCs need: "public" or the monitoring scope. */
  readonly healthAccess: Access;
  /** Aborted when the server gives up on calls in flight at shutdown. */
  readonly shutdownSignal: AbortSignal;
  /** See ServerOptions.compressStreams. */
  readonly compressStreams: boolean;
  readonly writer: ResponseWriterOptions;
}

/** One RPC method, served by connect-es once the dispatcher has let its call in. */
export interface RpcRoute {
  readonly kind: "rpc";
  /** "/modelmora.InferenceService/StreamInference" */
  readonly path: string;
  /** The method label of metrics and logs: the path without its slash. */
  readonly label: string;
  /** HTTP methods connect-es accepts for it (GET too for side-effect-free unary methods). */
  readonly methods: readonly string[];
  readonly access: Access;
  readonly method: DescMethod;
  /** Whether the response is a stream of messages. */
  readonly streaming: boolean;
  /** Whether the call streams images (stream limits, quotas, memory). */
  readonly imageStream: boolean;
  /**
   * Serves the call: `headers` and `body` replace the request's (the
   * dispatcher has read, checked and normalized them); `admitted` carries
   * a StreamInference call's validated request and stream slot.
   */
  serve(
    req: AnyRequest,
    res: AnyResponse,
    call: Call,
    headers: Headers,
    body: Uint8Array | undefined,
    admitted?: AdmittedStream,
  ): void;
}

/** Creates the RPC routes: InferenceService and grpc.health.v1.Health on connect-es. */
export function createRpcRoutes(options: RpcRoutesOptions): RpcRoute[] {
  const router = createConnectRouter({
    acceptCompression: [compressionGzip, compressionBrotli],
    // The dispatcher has read the body within --max-request-bytes already
    // (after decompression); this only has to let it through.
    readMaxBytes: 0xffffffff,
    // connect-es ignores unknown JSON fields by default; the REST route and
    // the proto3 JSON spec's default reject them, so a misspelt field (say
    // "batchsize") is an INVALID_ARGUMENT that names it, not a silent default.
    jsonOptions: { ignoreUnknownFields: false },
    shutdownSignal: options.shutdownSignal,
    interceptors: [recordOutcome],
  });
  router.rpc(
    InferenceService.method.streamInference,
    options.service.streamInference,
    // PNG is compressed already: gzip would spend a core to save nothing and
    // cut throughput about 4× (connect-node clients offer gzip by default).
    // Messages smaller than compressMinBytes are sent as they are, so this
    // turns response compression off for this method alone.
    options.compressStreams ? {} : { compressMinBytes: Number.MAX_SAFE_INTEGER },
  );
  router.rpc(InferenceService.method.listModels, options.service.listModels);
  router.service(Health, createHealthService(options.health));

  return router.handlers.map((handler): RpcRoute => {
    const imageStream = handler.method === InferenceService.method.streamInference;
    return {
      kind: "rpc",
      path: handler.requestPath,
      label: handler.requestPath.slice(1),
      methods: handler.allowedMethods,
      access: imageStream
        ? "inference"
        : handler.service === Health
          ? options.healthAccess
          : "models",
      method: handler.method,
      streaming: handler.method.methodKind !== "unary",
      imageStream,
      serve(req, res, call, headers, body, admitted) {
        const contextValues = createContextValues()
          .set(admittedStreamKey, admitted)
          .set(callContextKey, call);
        const uReq = universalRequestFromNodeRequest(req, res, undefined, contextValues);
        const request: UniversalServerRequest = {
          ...uReq,
          header: headers,
          body: body === undefined ? uReq.body : oneChunk(body),
        };
        handler(request)
          .then((uRes) => writeUniversalResponse(uRes, res, call, options.writer))
          .catch((reason: unknown) => {
            const outcome = outcomeOf(reason);
            call.finish(outcome);
            if (outcome.endedBy === "timeout") {
              // A stalled client: nothing more can reach it.
              res.destroy();
            }
          });
      },
    };
  });
}

/** Carries the Call of an RPC to the outcome interceptor. */
const callContextKey = createContextKey<Call | undefined>(undefined, {
  description: "modelmora call",
});

/**
 * Records how the implementation ended each call, success or error, on its
 * Call: the layer that knows the outcome says it, so nothing has to read
 * the response to find out.
 */
const recordOutcome: Interceptor = (next) =>
  async function recordCallOutcome(req) {
    const call = req.contextValues.get(callContextKey);
    if (call === undefined) return next(req);
    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await next(req);
    } catch (err) {
      call.finish(outcomeOf(err));
      throw err;
    }
    if (!res.stream) {
      call.finish({ endedBy: "server" });
      return res;
    }
    const messages = res.message;
    const streamCall = call;
    async function* observed() {
      try {
        yield* messages;
        streamCall.finish({ endedBy: "server" });
      } catch (err) {
        streamCall.finish(outcomeOf(err));
        throw err;
      }
    }
    return { ...res, message: observed() };
  };

async function* oneChunk(body: Uint8Array): AsyncIterable<Uint8Array> {
  yield body;
}
