/**
 * PNG is compressed already: the server must not gzip image chunks even
 * when the client offers gzip, while small answers such as ListModels may
 * be compressed. Checked on the wire: each message envelope's compressed
 * flag (bit 0 of its first byte).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  InferenceRequestSchema,
  InferenceResponseSchema,
  ListModelsResponseSchema,
} from "../../src/index.js";
import {
  chunkFromJson,
  envelope,
  parseEnvelopes,
  rawRequest,
  reassemble,
  startServer,
  type TestServer,
} from "../support/index.js";

// scene-1024: about 1.1 MB per image, so chunks of up to 1,000,000 bytes.
const request = { modelId: "scene-1024", prompt: "do not gzip me", batchSize: 1 };
const requestBinary = Buffer.from(
  toBinary(InferenceRequestSchema, create(InferenceRequestSchema, request)),
);

describe("compression", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv.close();
  });

  const streamCases: {
    name: string;
    headers: Record<string, string>;
    body: Buffer;
    json: boolean;
  }[] = [
    {
      name: "gRPC offering gzip",
      headers: {
        "content-type": "application/grpc+proto",
        te: "trailers",
        "grpc-accept-encoding": "gzip",
      },
      body: envelope(requestBinary),
      json: false,
    },
    {
      name: "gRPC-Web offering gzip and br",
      headers: { "content-type": "application/grpc-web+proto", "grpc-accept-encoding": "gzip,br" },
      body: envelope(requestBinary),
      json: false,
    },
    {
      name: "Connect binary offering gzip and br",
      headers: {
        "content-type": "application/connect+proto",
        "connect-accept-encoding": "gzip, br",
      },
      body: envelope(requestBinary),
      json: false,
    },
    {
      name: "Connect JSON offering gzip",
      headers: { "content-type": "application/connect+json", "connect-accept-encoding": "gzip" },
      body: envelope(
        JSON.stringify({ modelId: request.modelId, prompt: request.prompt, batchSize: 1 }),
      ),
      json: true,
    },
  ];

  for (const streamCase of streamCases) {
    it(`sends every image chunk uncompressed to ${streamCase.name}`, async () => {
      const res = await rawRequest(srv.url, {
        httpVersion: "2",
        method: "POST",
        path: "/modelmora.InferenceService/StreamInference",
        headers: streamCase.headers,
        body: streamCase.body,
      });
      assert.equal(res.status, 200);
      const messages = parseEnvelopes(res.body).filter(({ flags }) => (flags & 0x82) === 0);
      assert.ok(messages.length >= 2, `${messages.length} messages`);
      for (const [i, message] of messages.entries()) {
        assert.equal(message.flags & 0x01, 0, `message ${i} is compressed`);
      }
      const chunks = messages.map(({ data }) =>
        streamCase.json
          ? chunkFromJson(JSON.parse(data.toString("utf8")))
          : fromBinary(InferenceResponseSchema, data),
      );
      assert.ok(
        chunks.some((chunk) => chunk.data.byteLength === 1_000_000),
        "no full-size chunk",
      );
      assert.equal(reassemble(chunks).length, 1);
    });
  }

  it("still answers ListModels correctly to a gRPC client offering gzip (compressed or not)", async () => {
    const res = await rawRequest(srv.url, {
      httpVersion: "2",
      method: "POST",
      path: "/modelmora.InferenceService/ListModels",
      headers: {
        "content-type": "application/grpc+proto",
        te: "trailers",
        "grpc-accept-encoding": "gzip",
      },
      body: envelope(Buffer.alloc(0)),
    });
    assert.equal(res.trailers["grpc-status"] ?? res.headers["grpc-status"], "0");
    const [message] = parseEnvelopes(res.body);
    assert.ok(message);
    const compressed = (message.flags & 0x01) !== 0;
    if (compressed) {
      assert.equal(res.headers["grpc-encoding"], "gzip");
    }
    const data = compressed ? gunzipSync(message.data) : message.data;
    assert.equal(fromBinary(ListModelsResponseSchema, data).models.length, 9);
  });
});
