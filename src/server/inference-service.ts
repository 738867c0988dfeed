import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  type InferenceResponse,
  InferenceResponseSchema,
  type InferenceService,
  type ListModelsResponse,
  ListModelsResponseSchema,
  ModelInfoSchema,
} from "../gen/modelmora/inference_pb.js";
import { generateBatch, type ImageGenerator, modelProfiles } from "../imaging/index.js";
import { callRecordKey } from "./call-guard.js";
import { splicedPayload } from "./call-record.js";
import {
  chunksOf,
  type InferenceLimits,
  imageMetadata,
  validateInferenceRequest,
} from "./inference-core.js";

/** What the inference service needs from the server. */
export interface InferenceServiceOptions {
  generator: ImageGenerator;
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
  let models: Promise<ListModelsResponse> | undefined;

  return {
    async *streamInference(request, context): AsyncGenerator<InferenceResponse> {
      const model = validateInferenceRequest(request, limits);
      const requestId = randomUUID();
      context.responseHeader.set("x-request-id", requestId);
      const call = context.values.get(callRecordKey);
      if (call !== undefined) call.requestId = requestId;
      const splice = call?.splice;
      const images = generateBatch(
        generator,
        model,
        request.prompt,
        request.batchSize,
        context.signal,
      );
      for await (const image of images) {
        const metadata = imageMetadata(image, request.batchSize);
        for (const chunk of chunksOf(image, limits.chunkBytes)) {
          const message = create(InferenceResponseSchema, {
            requestId,
            chunkIndex: chunk.chunkIndex,
            totalChunks: chunk.totalChunks,
            data: splice === undefined ? chunk.data : emptyBytes,
            metadata: { ...metadata, chunk_offset: String(chunk.offset) },
          });
          if (splice !== undefined) {
            // The response writer appends the data to the serialized message.
            splice.push(chunk.data);
            (message as InferenceResponse & { [splicedPayload]?: Uint8Array })[splicedPayload] =
              chunk.data;
          }
          yield message;
        }
      }
    },

    listModels() {
      // Sized on first use, not at start-up: drawing one image of each model
      // takes a few hundred milliseconds the server need not wait for.
      models ??= Promise.all(
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
      ).then((infos) =>
        create(ListModelsResponseSchema, {
          models: infos,
          maxBatchSize: limits.maxBatchSize,
          chunkBytes: limits.chunkBytes,
          renderer: generator.rendererName,
        }),
      );
      models.catch(() => {
        models = undefined;
      });
      return models;
    },
  };
}
