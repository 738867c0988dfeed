/**
 * Measures how big the same messages are in protobuf and in JSON, as the
 * server under test sends them: the ListModels answer over Connect binary
 * (application/proto), Connect JSON (application/json) and REST (GET
 * /v1/models), and the first message of a StreamInference stream over
 * Connect's streaming binary and JSON encodings. The chunk's metadata alone
 * (the message without its data field) is encoded here with protobuf-es,
 * as the server encodes it. One connection, a few small calls, after the
 * scenarios.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import http from "node:http";
import { create, fromBinary, toBinary, toJsonString } from "@bufbuild/protobuf";
import { InferenceRequestSchema, InferenceResponseSchema } from "../../src/index.js";
import type { MessageSizes } from "../results/index.js";

/** Longest a call may take, ms. */
const callTimeoutMs = 30_000;

interface Exchange {
  status: number;
  body: Buffer;
}

/**
 * POSTs (or GETs) path and reads the response; with firstEnvelope, stops
 * reading once the first enveloped message has arrived.
 */
function exchange(
  baseUrl: string,
  method: "GET" | "POST",
  path: string,
  headers: Record<string, string>,
  body: Uint8Array | undefined,
  firstEnvelope = false,
): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      new URL(path, baseUrl),
      {
        method,
        headers: body === undefined ? headers : { ...headers, "content-length": body.byteLength },
        timeout: callTimeoutMs,
      },
      (res) => {
        const parts: Buffer[] = [];
        let bytes = 0;
        res.on("data", (part: Buffer) => {
          parts.push(part);
          bytes += part.byteLength;
          if (firstEnvelope && bytes >= 5) {
            const head = Buffer.concat(parts, bytes);
            if (bytes >= 5 + head.readUInt32BE(1)) {
              res.destroy();
              resolve({ status: res.statusCode ?? 0, body: head });
            }
          }
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${path}: no answer within 30 s`)));
    req.on("error", reject);
    req.end(body);
  });
}

function envelope(message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.byteLength);
  out.writeUInt32BE(message.byteLength, 1);
  out.set(message, 5);
  return out;
}

/** The first enveloped message of a body. */
function firstMessage(body: Buffer, what: string): Buffer {
  if (body.byteLength < 5) throw new Error(`${what}: no message in the answer`);
  const length = body.readUInt32BE(1);
  if (body.byteLength < 5 + length) throw new Error(`${what}: the first message is cut off`);
  return body.subarray(5, 5 + length);
}

/** Options for measureMessageSizes. */
export interface MessageSizesOptions {
  readonly baseUrl: string;
  /** Auth headers for the server. */
  readonly headers: Record<string, string>;
  /** The model of the chunk to measure; a cached one keeps it cheap. */
  readonly model: string;
  /** Its prompt. */
  readonly prompt: string;
}

/** Measures the sizes; throws if the server does not answer as Connect and REST do. */
export async function measureMessageSizes(options: MessageSizesOptions): Promise<MessageSizes> {
  const { baseUrl, headers } = options;
  const service = "/modelmora.InferenceService";
  const connect = { ...headers, "connect-protocol-version": "1" };
  const [proto, json, rest] = await Promise.all([
    exchange(
      baseUrl,
      "POST",
      `${service}/ListModels`,
      {
        ...connect,
        "content-type": "application/proto",
      },
      new Uint8Array(0),
    ),
    exchange(
      baseUrl,
      "POST",
      `${service}/ListModels`,
      {
        ...connect,
        "content-type": "application/json",
      },
      Buffer.from("{}"),
    ),
    exchange(baseUrl, "GET", "/v1/models", headers, undefined),
  ]);
  for (const [what, answer] of [
    ["ListModels (Connect binary)", proto],
    ["ListModels (Connect JSON)", json],
  ] as const) {
    if (answer.status !== 200) throw new Error(`${what}: HTTP ${answer.status}`);
  }
  const request = create(InferenceRequestSchema, {
    modelId: options.model,
    prompt: options.prompt,
    batchSize: 1,
  });
  const streamBinary = await exchange(
    baseUrl,
    "POST",
    `${service}/StreamInference`,
    { ...connect, "content-type": "application/connect+proto" },
    envelope(toBinary(InferenceRequestSchema, request)),
    true,
  );
  const streamJson = await exchange(
    baseUrl,
    "POST",
    `${service}/StreamInference`,
    { ...connect, "content-type": "application/connect+json" },
    envelope(Buffer.from(toJsonString(InferenceRequestSchema, request))),
    true,
  );
  const binaryMessage = firstMessage(streamBinary.body, "StreamInference (Connect binary)");
  const jsonMessage = firstMessage(streamJson.body, "StreamInference (Connect JSON)");
  const chunk = fromBinary(InferenceResponseSchema, binaryMessage);
  const metadataOnly = create(InferenceResponseSchema, { ...chunk, data: new Uint8Array(0) });
  return {
    listModels: {
      protobufBytes: proto.body.byteLength,
      jsonBytes: json.body.byteLength,
      restBytes: rest.status === 200 ? rest.body.byteLength : undefined,
    },
    chunk: {
      model: options.model,
      dataBytes: chunk.data.byteLength,
      protobufBytes: binaryMessage.byteLength,
      jsonBytes: jsonMessage.byteLength,
      metadataProtobufBytes: toBinary(InferenceResponseSchema, metadataOnly).byteLength,
      metadataJsonBytes: Buffer.byteLength(toJsonString(InferenceResponseSchema, metadataOnly)),
    },
  };
}
