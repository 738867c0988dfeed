import { createClient } from "@connectrpc/connect";
import { InferenceService, type ListModelsResponse } from "../../src/gen/modelmora/inference_pb.js";
import { createTransportFor } from "./rpc-stream.js";

/** The server's models, by ListModels over Connect (binary). Fails with the server's ConnectError. */
export function listModels(
  baseUrl: string,
  headers: Readonly<Record<string, string>>,
): Promise<ListModelsResponse> {
  const client = createClient(
    InferenceService,
    createTransportFor("connect", baseUrl, globalThis.fetch.bind(globalThis)),
  );
  return client.listModels({}, { headers, timeoutMs: 10_000 });
}
