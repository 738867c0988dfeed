import { ConnectError } from "@connectrpc/connect";
import { codeFromHttpStatus, errorFromJson } from "@connectrpc/connect/protocol-connect";
import { boundaryOf, createMultipartReader, type PartHead } from "./multipart-reader.js";
import type { StreamCallOptions } from "./stream-request.js";

/**
 * Streams a batch over the REST route with fetch: `POST /infer/stream`,
 * JSON in; out, the PNG itself for a batch of one (its size and SHA-256 in
 * x-image-* headers) or multipart/mixed with one part per image, read as
 * it arrives. A refused request fails with a ConnectError carrying the
 * server's code and message (its JSON error body) and the response headers
 * (retry-after) as metadata.
 */
export async function streamRest(options: StreamCallOptions): Promise<void> {
  const { request } = options;
  let response: Response;
  try {
    response = await options.fetch(`${options.baseUrl}/infer/stream`, {
      method: "POST",
      headers: { "content-type": "application/json", ...options.headers },
      body: JSON.stringify({
        model_id: request.modelId,
        prompt: request.prompt,
        batch_size: request.batchSize,
      }),
      signal: options.signal,
    });
  } catch (err) {
    throw ConnectError.from(err);
  }
  if (!response.ok) {
    throw await errorOfResponse(response);
  }
  const body = response.body;
  if (body === null) {
    throw new ConnectError("the response has no body");
  }
  const contentType = response.headers.get("content-type") ?? "";
  const reader = body.getReader();
  try {
    if (contentType.startsWith("image/png")) {
      await readSingle(reader, response.headers, options);
    } else if (contentType.startsWith("multipart/mixed")) {
      await readMultipart(reader, contentType, options);
    } else {
      throw new ConnectError(`unexpected content-type "${contentType}" from /infer/stream`);
    }
  } catch (err) {
    // A Stop, or a cut-off body, surfaces here: let the reader go.
    reader.cancel().catch(() => {});
    throw options.signal?.aborted ? ConnectError.from(options.signal.reason) : err;
  } finally {
    reader.releaseLock();
  }
}

async function readSingle(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  headers: Headers,
  options: StreamCallOptions,
): Promise<void> {
  const piece = {
    index: Number(headers.get("x-image-index") ?? 0),
    imageBytes: Number(headers.get("x-image-bytes") ?? Number.NaN),
    sha256: headers.get("x-image-sha256") ?? "",
    widthPx: Number(headers.get("x-image-width") ?? 0),
    heightPx: Number(headers.get("x-image-height") ?? 0),
  };
  if (Number.isNaN(piece.imageBytes) || piece.sha256 === "") {
    throw new ConnectError(
      "the PNG came without x-image-bytes and x-image-sha256 (a server on another origin must expose them: --cors-origin)",
    );
  }
  let offset = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    options.onPiece({ ...piece, offset }, value);
    offset += value.byteLength;
    const pause = options.afterMessage?.();
    if (pause !== undefined) await pause;
  }
}

async function readMultipart(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  contentType: string,
  options: StreamCallOptions,
): Promise<void> {
  const boundary = boundaryOf(contentType);
  if (boundary === undefined) {
    throw new ConnectError(`no boundary in "${contentType}"`);
  }
  let head: PartHead | undefined;
  let offset = 0;
  const multipart = createMultipartReader(boundary, {
    partStart(next) {
      head = next;
      offset = 0;
    },
    partData(data) {
      if (head === undefined) return;
      const headers = head.headers;
      options.onPiece(
        {
          index: Number(headers.get("x-image-index") ?? Number.NaN),
          imageBytes: head.contentLength,
          offset,
          sha256: headers.get("x-image-sha256") ?? "",
          widthPx: Number(headers.get("x-image-width") ?? 0),
          heightPx: Number(headers.get("x-image-height") ?? 0),
        },
        data,
      );
      offset += data.byteLength;
    },
    partEnd() {
      head = undefined;
    },
  });
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    multipart.push(value);
    const pause = options.afterMessage?.();
    if (pause !== undefined) await pause;
  }
  multipart.end();
}

/** The server's error from a refused REST response: {"code","message"} and its headers. */
async function errorOfResponse(response: Response): Promise<ConnectError> {
  const fallback = new ConnectError(
    `HTTP ${response.status} ${response.statusText}`.trim(),
    codeFromHttpStatus(response.status),
    response.headers,
  );
  try {
    const json: unknown = await response.json();
    return errorFromJson(json as Parameters<typeof errorFromJson>[0], response.headers, fallback);
  } catch {
    return fallback;
  }
}
