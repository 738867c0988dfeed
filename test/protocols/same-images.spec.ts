/**
 * One request, every way in: the Connect clients over every protocol and
 * HTTP version, connect-node transports used directly, grpc-js with the
 * proof of concept's proto, curl speaking Connect, and the REST route. Every path must
 * give byte-for-byte the same PNG files.
 */
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import { createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { createInferenceClient, InferenceService } from "../../src/index.js";
import {
  clientCases,
  collect,
  createGrpcJsClient,
  curlConnectStream,
  curlRest,
  inspectPng,
  multipartOf,
  type ReassembledImage,
  reassemble,
  sha256Hex,
  startServer,
  streamGrpcJs,
  type TestServer,
} from "../support/index.js";

// scene-1024 images are about 1.1 MB, so each comes in two chunks and the
// rebuilding by chunk_offset is exercised.
const request = { modelId: "scene-1024", prompt: "the same everywhere", batchSize: 2 };
const requestJson = JSON.stringify({
  model_id: request.modelId,
  prompt: request.prompt,
  batch_size: request.batchSize,
});

describe("byte-for-byte the same images over every protocol", () => {
  let srv: TestServer;
  let reference: ReassembledImage[];

  before(async () => {
    srv = await startServer();
    const inference = createInferenceClient({ baseUrl: srv.url, protocol: "grpc" });
    try {
      reference = reassemble(await collect(inference.client.streamInference(request)));
    } finally {
      inference.close();
    }
    assert.equal(reference.length, 2);
    for (const image of reference) {
      assert.ok(image.chunkCount >= 2, "scene-1024 should need more than one chunk");
      const png = inspectPng(image.png);
      assert.deepEqual([png.widthPx, png.heightPx], [1024, 1024]);
    }
  });
  after(async () => {
    await srv.close();
  });

  function assertSameImages(images: readonly { index: number; png: Uint8Array }[]) {
    assert.equal(images.length, reference.length, "image count");
    images.forEach((image, i) => {
      const expected = reference[i] as ReassembledImage;
      assert.equal(image.index, expected.index);
      assert.equal(sha256Hex(image.png), expected.sha256, `image ${i} differs`);
      assert.ok(Buffer.from(image.png).equals(expected.png), `image ${i} differs`);
    });
  }

  for (const clientCase of clientCases) {
    it(`createInferenceClient, ${clientCase.name}`, async () => {
      const inference = createInferenceClient({
        baseUrl: srv.url,
        protocol: clientCase.protocol,
        httpVersion: clientCase.httpVersion,
      });
      try {
        assertSameImages(reassemble(await collect(inference.client.streamInference(request))));
      } finally {
        inference.close();
      }
    });
  }

  // connect-node's transports as they come: default windows, and they offer
  // gzip and br, which the server must not use for image chunks. The session
  // manager and the agent are passed in only so the test can close them.
  const plainTransports: Record<string, (baseUrl: string) => [Transport, () => void]> = {
    "gRPC transport": (baseUrl) => {
      const sessionManager = new Http2SessionManager(baseUrl);
      return [createGrpcTransport({ baseUrl, sessionManager }), () => sessionManager.abort()];
    },
    "gRPC-Web transport over HTTP/1.1": (baseUrl) => {
      const agent = new http.Agent({ keepAlive: true });
      return [
        createGrpcWebTransport({ baseUrl, httpVersion: "1.1", nodeOptions: { agent } }),
        () => agent.destroy(),
      ];
    },
    "Connect transport, JSON over HTTP/2": (baseUrl) => {
      const sessionManager = new Http2SessionManager(baseUrl);
      return [
        createConnectTransport({
          baseUrl,
          httpVersion: "2",
          useBinaryFormat: false,
          sessionManager,
        }),
        () => sessionManager.abort(),
      ];
    },
    "Connect transport, binary over HTTP/1.1": (baseUrl) => {
      const agent = new http.Agent({ keepAlive: true });
      return [
        createConnectTransport({ baseUrl, httpVersion: "1.1", nodeOptions: { agent } }),
        () => agent.destroy(),
      ];
    },
  };
  for (const [name, makeTransport] of Object.entries(plainTransports)) {
    it(`connect-node ${name}, used directly`, async () => {
      const [transport, close] = makeTransport(srv.url);
      try {
        const client = createClient(InferenceService, transport);
        assertSameImages(reassemble(await collect(client.streamInference(request))));
      } finally {
        close();
      }
    });
  }

  it("@grpc/grpc-js with the proof of concept's proto", async () => {
    const client = createGrpcJsClient(`127.0.0.1:${srv.port}`);
    try {
      assertSameImages(reassemble(await streamGrpcJs(client, JSON.parse(requestJson))));
    } finally {
      client.close();
    }
  });

  for (const [name, args] of [
    ["HTTP/1.1", []],
    ["HTTP/2 with prior knowledge", ["--http2-prior-knowledge"]],
  ] as const) {
    it(`curl, Connect streaming with an enveloped JSON body, ${name}`, async () => {
      const { chunks, endStream } = await curlConnectStream(srv.url, JSON.parse(requestJson), args);
      assert.deepEqual(endStream, {});
      assertSameImages(reassemble(chunks));
    });
  }

  it("curl, REST multipart/mixed for a batch", async () => {
    const res = await curlRest(srv.url, requestJson);
    assert.equal(res.status, 200);
    assert.match(res.headers["content-type"] ?? "", /^multipart\/mixed; boundary=/);
    const parts = multipartOf(res);
    assertSameImages(
      parts.map((part) => {
        assert.equal(part.headers["content-type"], "image/png");
        assert.equal(part.headers["x-image-sha256"], sha256Hex(part.body));
        return { index: Number(part.headers["x-image-index"]), png: part.body };
      }),
    );
  });

  it("curl, REST with batch_size 1 answers the PNG itself", async () => {
    const res = await curlRest(
      srv.url,
      JSON.stringify({ modelId: request.modelId, prompt: request.prompt, batchSize: 1 }),
      ["--http2-prior-knowledge"],
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-type"], "image/png");
    assert.equal(res.headers["x-image-sha256"], reference[0]?.sha256);
    assert.ok(res.body.equals(reference[0]?.png as Buffer), "REST image differs");
  });
});
