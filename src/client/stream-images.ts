import type { MessageInitShape } from "@bufbuild/protobuf";
import { type CallOptions, Code, ConnectError, type StreamResponse } from "@connectrpc/connect";
import { createLinkedAbortController } from "@connectrpc/connect/protocol";
import type {
  InferenceRequestSchema,
  InferenceResponseSchema,
} from "../gen/modelmora/inference_pb.js";
import { ImageAssembler } from "./image-assembler.js";
import type { StreamedImage } from "./streamed-image.js";
import { dataPiecesOf } from "./wire-call.js";

/** What streamImages asks for: InferenceRequest's fields (`modelId`, `prompt`, `batchSize`). */
export type StreamImagesRequest = MessageInitShape<typeof InferenceRequestSchema>;

/**
 * Options of one streamImages call: Connect's call options — `timeoutMs`
 * (the call's deadline, in milliseconds; none by default), `headers`,
 * `signal`, `onHeader`, `onTrailer`, `contextValues` — and a size limit.
 */
export interface StreamImagesOptions extends CallOptions {
  /**
   * Largest image accepted, in bytes: each image's buffer is allocated
   * whole from its declared size. Past it the call fails with
   * RESOURCE_EXHAUSTED. Default 256 MiB.
   */
  maxImageBytes?: number;
}

/**
 * Streams a batch of images: yields each image once it is whole and its
 * SHA-256 checked, in the order the server finishes them (by `index`).
 * Errors are ConnectError: the server's code (INVALID_ARGUMENT, NOT_FOUND,
 * UNAUTHENTICATED, RESOURCE_EXHAUSTED, …), DEADLINE_EXCEEDED when
 * `timeoutMs` passes, DATA_LOSS when an image's bytes or SHA-256 differ
 * from what the server declared. Leaving the loop early (break, return, a
 * throw) cancels the call on the server.
 */
export type StreamImages = (
  request: StreamImagesRequest,
  options?: StreamImagesOptions,
) => AsyncIterable<StreamedImage>;

/** Starts one StreamInference call; the messages' `data` is read with dataPiecesOf. */
export type StreamInferenceSource = (
  request: StreamImagesRequest,
  options: Omit<CallOptions, "onHeader" | "onTrailer">,
) => Promise<StreamResponse<typeof InferenceRequestSchema, typeof InferenceResponseSchema>>;

/**
 * Makes streamImages on top of a source of StreamInference responses: the
 * wire-level reader for the binary protocols (callStreamInference), or a
 * Connect transport for JSON.
 */
export function createStreamImages(source: StreamInferenceSource): StreamImages {
  return async function* streamImages(request, options = {}) {
    const { maxImageBytes, onHeader, onTrailer, signal, ...call } = options;
    // Aborted when the loop ends early or fails, so the server stops too:
    // connect's own streaming calls do not cancel when a loop breaks.
    const controller = createLinkedAbortController(signal);
    let finished = false;
    try {
      const response = await source(request, { ...call, signal: controller.signal });
      onHeader?.(response.header);
      const assembler = new ImageAssembler({ maxImageBytes });
      for await (const message of response.message) {
        const image = assembler.add(message, dataPiecesOf(message));
        if (image !== undefined) yield image;
      }
      assembler.finish();
      finished = true;
      onTrailer?.(response.trailer);
    } finally {
      if (!finished) {
        controller.abort(
          new ConnectError("streamImages ended before the last image", Code.Canceled),
        );
      }
    }
  };
}
