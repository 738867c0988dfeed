import { createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { InferenceService } from "../../src/gen/modelmora/inference_pb.js";
import type { ProtocolId } from "./protocols.js";
import type { StreamCallOptions } from "./stream-request.js";

/** The protocols connect-web speaks: every one of the page's but REST. */
export type RpcProtocolId = Exclude<ProtocolId, "rest">;

/**
 * A connect-web transport for a protocol: Connect with binary or JSON
 * messages, or gRPC-Web with binary messages, over the given fetch.
 */
export function createTransportFor(
  protocol: RpcProtocolId,
  baseUrl: string,
  fetch: typeof globalThis.fetch,
): Transport {
  switch (protocol) {
    case "connect":
      return createConnectTransport({ baseUrl, useBinaryFormat: true, fetch });
    case "connect-json":
      return createConnectTransport({ baseUrl, useBinaryFormat: false, fetch });
    case "grpc-web":
      return createGrpcWebTransport({ baseUrl, useBinaryFormat: true, fetch });
  }
}

/**
 * Streams a batch with StreamInference over connect-web, handing each
 * chunk's data on with where it goes (the chunk's metadata: image_index,
 * image_bytes, chunk_offset, image_sha256, width, height). Fails with the
 * ConnectError the server sent (code, message, metadata such as
 * retry-after).
 */
export async function streamRpc(
  protocol: RpcProtocolId,
  options: StreamCallOptions,
): Promise<void> {
  const client = createClient(
    InferenceService,
    createTransportFor(protocol, options.baseUrl, options.fetch),
  );
  const stream = client.streamInference(options.request, {
    signal: options.signal,
    headers: options.headers,
  });
  for await (const chunk of stream) {
    const meta = chunk.metadata;
    options.onPiece(
      {
        index: Number(meta.image_index ?? Number.NaN),
        imageBytes: Number(meta.image_bytes ?? Number.NaN),
        offset: Number(meta.chunk_offset ?? Number.NaN),
        sha256: meta.image_sha256 ?? "",
        widthPx: Number(meta.width ?? 0),
        heightPx: Number(meta.height ?? 0),
      },
      chunk.data,
    );
    const pause = options.afterMessage?.();
    if (pause !== undefined) await pause;
  }
}
