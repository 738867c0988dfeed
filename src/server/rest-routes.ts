import { toJson } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Principal } from "../auth/index.js";
import { InferenceRequestSchema, ListModelsResponseSchema } from "../gen/modelmora/inference_pb.js";
import type { Call } from "./call.js";
import type { Access, CallGuard } from "./call-guard.js";
import { withHttpStatus } from "./error-response.js";
import { type AnyRequest, type AnyResponse, sendBody, sendJson } from "./http-types.js";
import { type ImageStreamOptions, imageStream } from "./image-stream.js";
import { type InferenceLimits, validateInferenceRequest } from "./inference-request.js";
import type { InferenceServiceImpl } from "./inference-service.js";
import { messageFromJsonBytes } from "./json-message.js";
import { writeImageBody } from "./multipart-writer.js";
import { type BodyLimits, readRequestBody } from "./request-body.js";

/** A call let in by the dispatcher, as a REST route serves it. */
export interface RestCall {
  readonly req: AnyRequest;
  readonly res: AnyResponse;
  readonly call: Call;
  readonly principal: Principal;
}

/** One REST route. */
export interface RestRoute {
  readonly kind: "rest";
  readonly path: string;
  /** The method label of metrics and logs, such as "POST /infer/stream". */
  readonly label: string;
  readonly methods: readonly string[];
  readonly access: Access;
  readonly streaming: boolean;
  /** Serves the call; a rejection is answered by the dispatcher. */
  serve(call: RestCall): Promise<void>;
}

/** What the REST routes need from the server. */
export interface RestRoutesOptions {
  readonly service: InferenceServiceImpl;
  readonly guard: CallGuard;
  readonly limits: InferenceLimits;
  readonly body: BodyLimits;
  readonly images: ImageStreamOptions;
  /** Aborted when the server gives up on calls in flight at shutdown. */
  readonly shutdownSignal: AbortSignal;
  /** How long a client may read nothing before its stream is ended, ms. */
  readonly stallTimeoutMs: number;
  /** What health and metrics need: "public" or the monitoring scope. */
  readonly access: { readonly health: Access; readonly metrics: Access };
  /** The body of GET /healthz, and whether the server is ready (200) or not (503). */
  health(): { serving: boolean; body: Record<string, unknown> };
  /** The Prometheus exposition for GET /metrics. */
  metrics(): Promise<{ contentType: string; body: string }>;
}

/**
 * The REST routes:
 *
 * - POST /infer/stream: JSON InferenceRequest in (content type
 *   application/json or none; proto or JSON field names), the images out
 *   as a chunked body: the PNG itself for batch_size 1, multipart/mixed
 *   with one image/png part per image otherwise.
 * - GET /healthz: {"status":"SERVING", ...}, 503 NOT_SERVING while draining.
 * - GET /health: {"status":"healthy"}, the proof of concept's FastAPI
 *   health route, which its client probes before it tries REST.
 * - GET /v1/models: ListModelsResponse as proto JSON.
 * - GET /metrics: the Prometheus exposition.
 */
export function createRestRoutes(options: RestRoutesOptions): RestRoute[] {
  const read = (path: string, access: Access, serve: RestRoute["serve"]): RestRoute => ({
    kind: "rest",
    path,
    label: `GET ${path}`,
    methods: ["GET", "HEAD"],
    access,
    streaming: false,
    serve,
  });
  return [
    {
      kind: "rest",
      path: "/infer/stream",
      label: "POST /infer/stream",
      methods: ["POST"],
      access: "inference",
      streaming: true,
      serve: (rest) => streamImages(options, rest),
    },
    read("/healthz", options.access.health, async ({ res }) => {
      const health = options.health();
      sendJson(res, health.serving ? 200 : 503, health.body);
    }),
    read("/health", options.access.health, async ({ res }) => {
      const { serving } = options.health();
      sendJson(res, serving ? 200 : 503, { status: serving ? "healthy" : "unhealthy" });
    }),
    read("/v1/models", "models", async ({ res }) => {
      sendJson(res, 200, toJson(ListModelsResponseSchema, await options.service.listModels()));
    }),
    read("/metrics", options.access.metrics, async ({ res }) => {
      const metrics = await options.metrics();
      sendBody(res, 200, metrics.contentType, metrics.body);
    }),
  ];
}

async function streamImages(options: RestRoutesOptions, rest: RestCall): Promise<void> {
  const { req, res, call } = rest;
  checkJsonContentType(req);
  const body = await readRequestBody(req, options.body);
  const request = messageFromJsonBytes(InferenceRequestSchema, body);
  const model = validateInferenceRequest(request, options.limits);
  const admission = await options.guard.openStream(rest.principal);
  call.requestId = crypto.randomUUID();
  const signal = AbortSignal.any([options.shutdownSignal, closeSignal(res)]);
  const chunks = imageStream(
    { model, prompt: request.prompt, batchSize: request.batchSize },
    signal,
    admission,
    options.images,
  );
  await writeImageBody(res, call, chunks, request.batchSize, options.stallTimeoutMs);
}

/** REST takes JSON: a content type of application/json (with any parameters), or none. */
function checkJsonContentType(req: AnyRequest): void {
  const contentType = req.headers["content-type"];
  if (contentType === undefined) return;
  const type = contentType.split(";", 1)[0]?.trim().toLowerCase();
  if (type !== "application/json") {
    throw withHttpStatus(
      new ConnectError(
        `POST /infer/stream takes content-type application/json, got "${contentType.slice(0, 64)}"`,
        Code.InvalidArgument,
      ),
      415,
    );
  }
}

/** A signal that aborts with CANCELED when the response closes before it ends. */
function closeSignal(res: AnyResponse): AbortSignal {
  const controller = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) {
      controller.abort(new ConnectError("client closed the response", Code.Canceled));
    }
  });
  return controller.signal;
}
