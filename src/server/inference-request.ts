import { Code, ConnectError } from "@connectrpc/connect";
import type { InferenceRequest } from "../gen/modelmora/inference_pb.js";
import { findModel, type ModelProfile, modelProfiles } from "../imaging/index.js";

/** Limits on StreamInference requests and the shape of its responses. */
export interface InferenceLimits {
  /** Largest accepted batch_size. */
  readonly maxBatchSize: number;
  /** Largest accepted prompt, in UTF-8 bytes. */
  readonly maxPromptBytes: number;
  /** Size of the chunks images are cut into, in bytes. */
  readonly chunkBytes: number;
}

/** Default limits: batches of up to 32 images, 4 KiB prompts, 1 MB chunks. */
export const defaultInferenceLimits: InferenceLimits = {
  maxBatchSize: 32,
  maxPromptBytes: 4096,
  // The original proof of concept's "1MB": 1,000,000 bytes, which cuts a
  // 3,005,928-byte noise image into 4 chunks and a batch of 10 into 40.
  chunkBytes: 1_000_000,
};

/**
 * Checks a StreamInference request and returns the model it names. Throws a
 * ConnectError that names the field and says what is wrong.
 */
export function validateInferenceRequest(
  request: Pick<InferenceRequest, "modelId" | "prompt" | "batchSize">,
  limits: InferenceLimits,
): ModelProfile {
  if (request.modelId === "") {
    throw new ConnectError(`model_id is required; one of: ${modelIds()}`, Code.InvalidArgument);
  }
  const model = findModel(request.modelId);
  if (model === undefined) {
    throw new ConnectError(
      `model_id "${truncate(request.modelId)}" is not a model of this server; one of: ${modelIds()}`,
      Code.NotFound,
    );
  }
  if (request.batchSize < 1 || request.batchSize > limits.maxBatchSize) {
    throw new ConnectError(
      `batch_size must be from 1 to ${limits.maxBatchSize}, got ${request.batchSize}`,
      Code.InvalidArgument,
    );
  }
  const promptBytes = Buffer.byteLength(request.prompt, "utf8");
  if (promptBytes > limits.maxPromptBytes) {
    throw new ConnectError(
      `prompt must be at most ${limits.maxPromptBytes} bytes of UTF-8, got ${promptBytes}`,
      Code.InvalidArgument,
    );
  }
  return model;
}

function modelIds(): string {
  return modelProfiles.map((model) => model.id).join(", ");
}

function truncate(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}
