/**
 * The package entry point (src/index.ts): it exports the generated service
 * and schemas, createInferenceClient and createServer; the client's headers
 * option carries a key over every protocol, and bad options fail clearly.
 * The client's calls over every protocol are in test/protocols/.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  createInferenceClient,
  createServer,
  InferenceRequestSchema,
  InferenceResponseSchema,
  InferenceService,
  ListModelsResponseSchema,
  protocolNames,
} from "../../src/index.js";
import {
  clientCases,
  startServer,
  type TestServer,
  protocolNames as testedProtocols,
} from "../support/index.js";

const key = "sdk_key_5e1d0b7f3a9c2e4d";

describe("the package entry point (src/index.ts)", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({
      auth: { apiKeys: [{ id: "sdk", key, scopes: ["inference", "models"] }] },
    });
  });
  after(async () => {
    await srv.close();
  });

  it("exports the generated service and schemas, the client helper and the server", () => {
    assert.equal(InferenceService.typeName, "modelmora.InferenceService");
    assert.equal(InferenceService.method.streamInference.methodKind, "server_streaming");
    assert.equal(InferenceService.method.listModels.methodKind, "unary");
    assert.equal(InferenceRequestSchema.typeName, "modelmora.InferenceRequest");
    assert.equal(InferenceResponseSchema.typeName, "modelmora.InferenceResponse");
    assert.equal(ListModelsResponseSchema.typeName, "modelmora.ListModelsResponse");
    assert.equal(typeof createServer, "function");
    // The package's list is the RPC part of the tests' one protocol list.
    assert.deepEqual(
      [...protocolNames],
      testedProtocols.filter((protocol) => protocol !== "rest"),
    );
  });

  for (const clientCase of clientCases) {
    it(`${clientCase.name}: the headers option is what carries the key`, async () => {
      const withKey = createInferenceClient({
        baseUrl: srv.url,
        protocol: clientCase.protocol,
        httpVersion: clientCase.httpVersion,
        headers: { "x-api-key": key },
      });
      const withoutKey = createInferenceClient({
        baseUrl: srv.url,
        protocol: clientCase.protocol,
        httpVersion: clientCase.httpVersion,
      });
      try {
        const models = await withKey.client.listModels({});
        assert.ok(models.models.some((model) => model.id === "thumb-64"));
        await assert.rejects(withoutKey.client.listModels({}), (err: unknown) => {
          assert.equal(ConnectError.from(err).code, Code.Unauthenticated);
          return true;
        });
      } finally {
        withKey.close();
        withoutKey.close();
      }
    });
  }

  it("refuses gRPC over HTTP/1.1 and unknown protocols with a clear error", () => {
    assert.throws(
      () => createInferenceClient({ baseUrl: srv.url, protocol: "grpc", httpVersion: "1.1" }),
      /gRPC needs HTTP\/2/,
    );
    assert.throws(
      () =>
        createInferenceClient({
          baseUrl: srv.url,
          protocol: "soap" as unknown as "grpc",
        }),
      /unknown protocol "soap"; one of: grpc, grpc-web, connect, connect-json/,
    );
  });
});
