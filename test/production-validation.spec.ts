/**
 * Issue 5, item 4: every request field is checked, over every protocol,
 * with a message that names the field and says why; client deadlines
 * (grpc-timeout, connect-timeout-ms) end a stream with DEADLINE_EXCEEDED
 * and stop its generation on the server.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { loadInferenceService } from "../bench/baselines/grpc-js-proto.js";
import { startServer, type TestServer, waitFor } from "./helpers.js";
import {
  assertCode,
  assertRefused,
  callStream,
  clientFor,
  parseSamples,
  protocolCases,
  restRequest,
  sumOf,
} from "./production-support.js";

interface InvalidCase {
  name: string;
  request: { modelId: string; prompt: string; batchSize: number };
  code: Code;
  message: RegExp;
}

const invalidCases: InvalidCase[] = [
  {
    name: "an empty model_id",
    request: { modelId: "", prompt: "p", batchSize: 1 },
    code: Code.InvalidArgument,
    message: /^model_id is required; one of: .*thumb-64/,
  },
  {
    name: "an unknown model_id",
    request: { modelId: "sdxl-turbo", prompt: "p", batchSize: 1 },
    code: Code.NotFound,
    message: /^model_id "sdxl-turbo" is not a model of this server; one of: /,
  },
  {
    name: "batch_size 0",
    request: { modelId: "thumb-64", prompt: "p", batchSize: 0 },
    code: Code.InvalidArgument,
    message: /^batch_size must be from 1 to 32, got 0$/,
  },
  {
    name: "batch_size 33",
    request: { modelId: "thumb-64", prompt: "p", batchSize: 33 },
    code: Code.InvalidArgument,
    message: /^batch_size must be from 1 to 32, got 33$/,
  },
  {
    name: "batch_size -1",
    request: { modelId: "thumb-64", prompt: "p", batchSize: -1 },
    code: Code.InvalidArgument,
    message: /^batch_size must be from 1 to 32, got -1$/,
  },
  {
    name: "a 4097-byte prompt",
    request: { modelId: "thumb-64", prompt: "a".repeat(4097), batchSize: 1 },
    code: Code.InvalidArgument,
    message: /^prompt must be at most 4096 bytes of UTF-8, got 4097$/,
  },
  {
    name: "a prompt of 2049 two-byte characters (4098 bytes)",
    request: { modelId: "thumb-64", prompt: "é".repeat(2049), batchSize: 1 },
    code: Code.InvalidArgument,
    message: /^prompt must be at most 4096 bytes of UTF-8, got 4098$/,
  },
];

describe("validation over every protocol", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv.close();
  });

  for (const protocolCase of protocolCases) {
    describe(protocolCase.name, () => {
      for (const invalid of invalidCases) {
        it(`refuses ${invalid.name}, naming the field`, async () => {
          const outcome = await callStream(srv, protocolCase, invalid.request);
          assertRefused(outcome, protocolCase, invalid.code, invalid.message);
        });
      }

      it("accepts the limits themselves: a 4096-byte prompt, batch_size 1 and 32", async () => {
        for (const request of [
          { modelId: "thumb-64", prompt: "a".repeat(4096), batchSize: 1 },
          { modelId: "thumb-64", prompt: "limits", batchSize: 32 },
        ]) {
          assertCode(await callStream(srv, protocolCase, request), undefined);
        }
      });
    });
  }

  describe("REST bodies", () => {
    const cases: [string, string, RegExp][] = [
      ["not JSON", "{model_id:", /^request body is not valid JSON/],
      ["a JSON array", "[1]", /^request body must be a JSON object/],
      ["an unknown field", '{"model_id":"thumb-64","batch_size":1,"colour":"red"}', /colour/],
      [
        "a batch_size of the wrong type",
        '{"model_id":"thumb-64","batch_size":"lots"}',
        /batch_size|batchSize/,
      ],
      [
        "a body over --max-request-bytes",
        JSON.stringify({ model_id: "thumb-64", prompt: "a".repeat(70_000), batch_size: 1 }),
        /^request body is \d+ bytes or more; the limit is 65536$/,
      ],
    ];
    for (const [name, body, message] of cases) {
      it(`answers 400 to ${name}, saying what is wrong`, async () => {
        const response = await restRequest(srv, "POST", "/infer/stream", {
          headers: { "content-type": "application/json" },
          body,
        });
        assert.equal(response.status, 400);
        const error = JSON.parse(response.body.toString("utf8")) as {
          code: string;
          message: string;
        };
        assert.equal(error.code, "invalid_argument");
        assert.match(error.message, message);
      });
    }
  });
});

/** Images drawn (not served from the cache) of noise-1000 so far. */
async function noiseImagesDrawn(srv: TestServer): Promise<number> {
  const { body } = await srv.server.metrics.render();
  return sumOf(parseSamples(body), "modelmora_images_total", {
    model: "noise-1000",
    cached: "false",
  });
}

/**
 * Waits until the server has no call in flight, then checks that no more
 * images get drawn: generation stopped with the call.
 */
async function assertGenerationStopped(srv: TestServer, before: number): Promise<void> {
  await waitFor(() => srv.server.activeCallCount === 0, "the call to end on the server");
  const drawn = await noiseImagesDrawn(srv);
  assert.ok(drawn - before < 32, `the server drew all ${drawn - before} images of the batch`);
  // A render already running may still land; after that nothing more.
  await sleep(300);
  const settled = await noiseImagesDrawn(srv);
  await sleep(300);
  assert.equal(await noiseImagesDrawn(srv), settled, "the server kept drawing images");
  assert.ok(settled - before < 32, "the server drew the whole batch");
}

describe("deadlines end a noise-1000 batch-32 stream with DEADLINE_EXCEEDED", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv.close();
  });

  for (const protocolCase of protocolCases.filter((c) => c.protocol !== "rest")) {
    it(`${protocolCase.name} with timeoutMs`, async () => {
      const before = await noiseImagesDrawn(srv);
      const inference = clientFor(srv, protocolCase);
      let chunks = 0;
      try {
        // The client reads one chunk per 50 ms, so the 128 chunks would take
        // more than 6 s: the 500 ms deadline passes long before the end.
        for await (const _ of inference.client.streamInference(
          { modelId: "noise-1000", prompt: `deadline ${protocolCase.name}`, batchSize: 32 },
          { timeoutMs: 500 },
        )) {
          chunks++;
          await sleep(50);
        }
        assert.fail(`the stream ended without an error after ${chunks} chunks`);
      } catch (err) {
        const error = ConnectError.from(err);
        assert.equal(Code[error.code], Code[Code.DeadlineExceeded], error.message);
      } finally {
        inference.close();
      }
      assert.ok(chunks < 128);
      await assertGenerationStopped(srv, before);
    });
  }

  it("grpc-js with a deadline", async () => {
    const before = await noiseImagesDrawn(srv);
    const Service = loadInferenceService();
    const client = new Service(srv.url.replace("http://", ""), grpc.credentials.createInsecure());
    try {
      const error = await new Promise<grpc.ServiceError>((resolve, reject) => {
        const call = (
          client as unknown as {
            StreamInference(
              request: object,
              options: grpc.CallOptions,
            ): grpc.ClientReadableStream<unknown>;
          }
        ).StreamInference(
          { model_id: "noise-1000", prompt: "deadline grpc-js", batch_size: 32 },
          { deadline: Date.now() + 500 },
        );
        // Read slowly: one chunk per 50 ms.
        call.on("data", () => {
          call.pause();
          setTimeout(() => call.resume(), 50);
        });
        call.on("error", resolve);
        call.on("end", () => reject(new Error("the stream ended without an error")));
      });
      assert.equal(error.code, grpc.status.DEADLINE_EXCEEDED, error.message);
    } finally {
      client.close();
    }
    await assertGenerationStopped(srv, before);
  });
});
