import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { createContextKey, type ServiceImpl } from "@connectrpc/connect";
import {
  type InferenceResponse,
  InferenceResponseSchema,
  type InferenceService,
  type ListModelsResponse,
  ListModelsResponseSchema,
  ModelInfoSchema,
} from "../gen/modelmora/inference_pb.js";
import { type ImageGenerator, modelProfiles } from "../imaging/index.js";
import type { Call } from "./call.js";
import type { StreamAdmission } from "./call-guard.js";
import { imageMetadata } from "./image-chunks.js";
import { type ImageStreamOptions, type ImageStreamRequest, imageStream } from "./image-stream.js";
import { type InferenceLimits, validateInferenceRequest } from "./inference-request.js";

/**
 * A StreamInference call the server's guard let in: its request already
 * read and validated, its stream slot taken. Carried to the implementation
 * in the context values; calls without it (the in-memory transport of the
 * tests) are validated by the implementation itself.
 */
export interface AdmittedStream {
  readonly call: Call;
  readonly request: ImageStreamRequest;
  readonly admission: StreamAdmission;
  /**
   * Set as the implementation starts: from then on the stream releases its
   * admission itself, once its renders are gone; before, whoever ends the
   * call must.
   */
  started: boolean;
}

/** The context key of an AdmittedStream. */
export const admittedStreamKey = createContextKey<AdmittedStream | undefined>(undefined, {
  description: "modelmora admitted stream",
});

/** What the inference service needs from the server. */
export interface InferenceServiceOptions extends Omit<ImageStreamOptions, "chunkBytes"> {
  limits: InferenceLimits;
}

/** The InferenceService implementation, plus ListModels for the REST route. */
export interface InferenceServiceImpl extends ServiceImpl<typeof InferenceService> {
  listModels(): Promise<ListModelsResponse>;
}

const emptyBytes = new Uint8Array(0);

/** Fixed prompt used to measure each model's typical image size. */
const sizingPrompt = "modelmora: typical size";

/** Creates the implementation of modelmora.InferenceService. */
export function createInferenceService(options: InferenceServiceOptions): InferenceServiceImpl {
  const { generator, limits } = options;
  const streamOptions: ImageStreamOptions = { ...options, chunkBytes: limits.chunkBytes };
  let models: Promise<ListModelsResponse> | undefined;

  return {
    async *streamInference(request, context): AsyncGenerator<InferenceResponse> {
      const admitted = context.values.get(admittedStreamKey);
      if (admitted !== undefined) admitted.started = true;
      const stream = admitted?.request ?? {
        model: validateInferenceRequest(request, limits),
        prompt: request.prompt,
        batchSize: request.batchSize,
      };
      const requestId = randomUUID();
      context.responseHeader.set("x-request-id", requestId);
      const call = admitted?.call;
      if (call !== undefined) call.requestId = requestId;
      const payloads = call?.payloads;
      let metadata: Record<string, string> = {};
      const chunks = imageStream(stream, context.signal, admitted?.admission, streamOptions);
      for await (const chunk of chunks) {
        if (chunk.chunkIndex === 0) metadata = imageMetadata(chunk.image, stream.batchSize);
        // The response writer appends queued payloads to their messages.
        payloads?.push(chunk.data);
        yield create(InferenceResponseSchema, {
          requestId,
          chunkIndex: chunk.chunkIndex,
          totalChunks: chunk.totalChunks,
          data: payloads === undefined ? chunk.data : emptyBytes,
          metadata: { ...metadata, chunk_offset: String(chunk.offset) },
        });
      }
    },

    listModels() {
      // Sized on first use, not at start-up: drawing one image of each model
      // takes a few hundred milliseconds the server need not wait for.
      models ??= sizeModels(generator, limits);
      models.catch(() => {
        models = undefined;
      });
      return models;
    },
  };
}

async function sizeModels(
  generator: ImageGenerator,
  limits: InferenceLimits,
): Promise<ListModelsResponse> {
  const infos = await Promise.all(
    modelProfiles.map(async (model) => {
      const sample = await generator.generate(model, sizingPrompt, 0);
      return create(ModelInfoSchema, {
        id: model.id,
        description: model.description,
        width: model.widthPx,
        height: model.heightPx,
        typicalImageBytes: BigInt(sample.png.byteLength),
      });
    }),
  );
  return create(ListModelsResponseSchema, {
    models: infos,
    maxBatchSize: limits.maxBatchSize,
    chunkBytes: limits.chunkBytes,
    renderer: generator.rendererName,
  });
}
