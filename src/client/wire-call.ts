import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import {
  type CallOptions,
  createContextValues,
  type Interceptor,
  type StreamRequest,
  type StreamResponse,
} from "@connectrpc/connect";
import {
  createAsyncIterable,
  createMethodUrl,
  encodeEnvelope,
  runStreamingCall,
} from "@connectrpc/connect/protocol";
import {
  type InferenceRequestSchema,
  type InferenceResponse,
  type InferenceResponseSchema,
  InferenceService,
} from "../gen/modelmora/inference_pb.js";
import { type ExchangeResponse, exchange, type HttpTarget } from "./http-exchange.js";
import { PausingQueue } from "./pausing-queue.js";
import { ResponseDecoder } from "./response-decoder.js";
import type { DecodedResponse } from "./response-fields.js";
import type { WireProtocol, WireResponse } from "./wire/index.js";

/** Options for callStreamInference. */
export interface WireCallOptions {
  /** The server, for example "http://localhost:8080". */
  readonly baseUrl: string;
  readonly target: HttpTarget;
  readonly protocol: WireProtocol;
  /** Run around the call as a Connect transport runs them. */
  readonly interceptors: readonly Interceptor[];
  /** Largest response message accepted, in bytes (ResponseDecoderOptions). */
  readonly maxMessageBytes?: number;
}

/** A StreamInference response read at the wire level. */
export type WireStreamResponse = StreamResponse<
  typeof InferenceRequestSchema,
  typeof InferenceResponseSchema
>;

/**
 * The `data` of the messages a wire call yields: their `data` field is
 * empty, and the bytes are here, as the pieces they arrived in.
 */
const dataPieces = new WeakMap<InferenceResponse, DecodedResponse>();

/**
 * The data of a message: the pieces of a message from callStreamInference,
 * or its own `data` (a message an interceptor made, or one from a Connect
 * client).
 */
export function dataPiecesOf(message: InferenceResponse): readonly Uint8Array[] {
  return dataPieces.get(message)?.dataPieces ?? [message.data];
}

/** Response messages read ahead before the body is paused. */
const messagesAhead = 2;

/**
 * Calls StreamInference over gRPC, gRPC-Web or Connect (binary), as a
 * Connect transport does — interceptors, deadline (`timeoutMs`: the
 * protocol's timeout header, and the call ends with DEADLINE_EXCEEDED when
 * it passes), headers, signal, errors as ConnectError with the code the
 * protocol carries — but reads the response with ResponseDecoder, so the
 * 1 MB `data` fields are never gathered: the messages it yields (and
 * interceptors see) have every field but `data`, whose bytes
 * dataPiecesOf() gives.
 */
export function callStreamInference(
  options: WireCallOptions,
  request: MessageInitShape<typeof InferenceRequestSchema>,
  call: Omit<CallOptions, "onHeader" | "onTrailer">,
): Promise<WireStreamResponse> {
  const method = InferenceService.method.streamInference;
  const timeoutMs =
    call.timeoutMs === undefined || call.timeoutMs <= 0 ? undefined : call.timeoutMs;
  return runStreamingCall<typeof InferenceRequestSchema, typeof InferenceResponseSchema>({
    interceptors: [...options.interceptors],
    signal: call.signal,
    timeoutMs,
    req: {
      stream: true,
      service: InferenceService,
      method,
      requestMethod: "POST",
      url: createMethodUrl(options.baseUrl, method),
      header: options.protocol.requestHeader(timeoutMs, call.headers),
      contextValues: call.contextValues ?? createContextValues(),
      message: createAsyncIterable([request]),
    },
    next: (req) => readWireStream(options, req),
  });
}

/**
 * Sends the request and reads the response as it arrives: what
 * callStreamInference runs inside the interceptors.
 */
async function readWireStream(
  options: WireCallOptions,
  req: StreamRequest<typeof InferenceRequestSchema, typeof InferenceResponseSchema>,
): Promise<WireStreamResponse> {
  const method = InferenceService.method.streamInference;
  let message: MessageInitShape<typeof InferenceRequestSchema> | undefined;
  for await (const m of req.message) message = m;
  const body = encodeEnvelope(0, toBinary(method.input, create(method.input, message)));
  const response = await exchange(options.target, {
    url: req.url,
    header: req.header,
    body,
    signal: req.signal,
  });
  let wire: WireResponse;
  try {
    wire = options.protocol.openResponse(response.status, response.header);
  } catch (err) {
    // An error status in the headers: read the rest of the (empty or
    // short) body, so that an HTTP/1.1 connection stays reusable.
    await drain(response).catch(() => undefined);
    throw err;
  }
  const messages = new PausingQueue<InferenceResponse>(response, messagesAhead);
  /** An error status from the trailers or the end of stream, thrown once the body ends. */
  let statusError: { error: unknown } | undefined;
  const decoder = new ResponseDecoder(
    {
      onResponse(decoded) {
        wire.beforeMessage();
        dataPieces.set(decoded.response, decoded);
        messages.push(decoded.response);
      },
      onControl(flags, data) {
        if (statusError !== undefined) return;
        try {
          wire.onControl(flags, data);
        } catch (err) {
          statusError = { error: err };
        }
      },
    },
    { maxMessageBytes: options.maxMessageBytes },
  );
  response
    .read((chunk) => decoder.push(chunk))
    .then(
      () => {
        try {
          if (statusError !== undefined) throw statusError.error;
          decoder.end();
          wire.finish(response.trailer);
          messages.end();
        } catch (err) {
          messages.fail(err);
        }
      },
      (err: unknown) => messages.fail(err),
    );
  return {
    stream: true,
    service: InferenceService,
    method,
    header: response.header,
    trailer: wire.trailer,
    message: messages,
  };
}

/** Most bytes read from an error response's body before it is cut off. */
const maxDrainBytes = 64 * 1024;

/** Reads a body to its end and drops it; cuts it off past maxDrainBytes. */
function drain(response: ExchangeResponse): Promise<void> {
  let bytes = 0;
  return response.read((chunk) => {
    bytes += chunk.byteLength;
    if (bytes > maxDrainBytes) throw new Error("an error response with a long body");
  });
}
