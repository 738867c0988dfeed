/**
 * Issue 5, items 9 and 10: the package entry point exports the generated
 * client and createInferenceClient, which works for every protocol name;
 * and the benchmark runs against a server with auth on, given a key.
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
} from "../src/index.js";
import { collect, inspectPng, reassemble, run, startServer, type TestServer } from "./helpers.js";
import { makeTempDir, startCli } from "./production-support.js";

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
    assert.deepEqual([...protocolNames], ["grpc", "grpc-web", "connect", "connect-json"]);
  });

  for (const protocol of protocolNames) {
    for (const httpVersion of protocol === "grpc" ? (["2"] as const) : (["2", "1.1"] as const)) {
      it(`createInferenceClient({ protocol: "${protocol}", httpVersion: "${httpVersion}" }) is ready to use`, async () => {
        const { client, close } = createInferenceClient({
          baseUrl: srv.url,
          protocol,
          httpVersion,
          headers: { "x-api-key": key },
        });
        try {
          const models = await client.listModels({});
          assert.ok(models.models.some((model) => model.id === "thumb-64"));
          const chunks = await collect(
            client.streamInference({ modelId: "thumb-64", prompt: "sdk", batchSize: 3 }),
          );
          const images = reassemble(chunks);
          assert.equal(images.length, 3);
          for (const image of images) {
            assert.equal(inspectPng(image.png).widthPx, 64);
          }
        } finally {
          close();
        }
      });
    }
  }

  it("the headers option is what carries the key", async () => {
    const { client, close } = createInferenceClient({ baseUrl: srv.url, protocol: "grpc" });
    try {
      await assert.rejects(client.listModels({}), (err: unknown) => {
        assert.equal(ConnectError.from(err).code, Code.Unauthenticated);
        return true;
      });
    } finally {
      close();
    }
  });

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

describe("the benchmark with auth on", () => {
  it("npm run bench -- --help lists --api-key and --smoke", async () => {
    const result = await run(process.execPath, ["--import", "tsx", "bench/run.ts", "--help"]);
    assert.equal(result.code, 0, result.stderr);
    const help = result.stdout.toString("utf8");
    assert.match(help, /--api-key KEY/);
    assert.match(help, /--smoke/);
    assert.match(help, /--url URL/);
  });

  it("runs in smoke mode against an auth-enabled CLI server with --url and --api-key", async () => {
    const benchKey = "bench_key_7c2f9e1a4b6d8c0e";
    const cli = await startCli(["--log-level", "info"], {
      env: { MODELMORA_API_KEYS: `bench:${benchKey}` },
    });
    const out = await makeTempDir();
    try {
      const result = await run(process.execPath, [
        "--import",
        "tsx",
        "bench/run.ts",
        "--smoke",
        "--url",
        cli.url,
        "--api-key",
        benchKey,
        "--no-baselines",
        "--out",
        out.path,
      ]);
      assert.equal(result.code, 0, `bench failed:\n${result.stderr.slice(-3000)}`);
      const calls = cli.logLines().filter((line) => line.msg === "call");
      assert.ok(calls.length > 10, "the bench made calls");
      const keyIds = new Set(calls.map((line) => line.key_id));
      assert.ok(keyIds.has("bench"), "the bench's calls carry its key");
      assert.ok(
        !calls.some((line) => line.code === "unauthenticated"),
        "no call of the bench was refused",
      );
      assert.ok(!cli.stderr().includes(benchKey), "the key appears in the server log");
    } finally {
      await cli.stop();
      await out.remove();
    }
  });
});
