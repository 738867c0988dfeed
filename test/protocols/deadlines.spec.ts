/**
 * Client deadlines (grpc-timeout, connect-timeout-ms, grpc-js's deadline)
 * end a stream with DEADLINE_EXCEEDED and stop its generation on the
 * server. Each client reads the first chunk and then nothing, so only the
 * deadline can end the stream; the test waits for the call to end on the
 * server, then for no image to be drawing, and only then counts images.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import {
  clientFor,
  createGrpcJsClient,
  imagesDrawnWhenIdle,
  rpcCases,
  startServer,
  type TestServer,
  waitForNoCalls,
  within,
} from "../support/index.js";

function ignore(): void {}

/** noise-1000, batch 32: 128 chunks, far more than a client that stops reading takes in. */
const batchSize = 32;

/** Asserts that fewer images than the batch were drawn since `before`, with nothing drawing. */
async function assertGenerationStopped(srv: TestServer, before: number): Promise<void> {
  await waitForNoCalls(srv.server);
  const drawn = (await imagesDrawnWhenIdle(srv.server, "noise-1000")) - before;
  assert.ok(drawn < batchSize, `the server drew ${drawn} images: the whole batch`);
}

describe("deadlines end a noise-1000 batch-32 stream with DEADLINE_EXCEEDED", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv.close();
  });

  for (const protocolCase of rpcCases) {
    it(`${protocolCase.name} with timeoutMs`, async () => {
      const before = await imagesDrawnWhenIdle(srv.server, "noise-1000");
      const inference = clientFor(srv, protocolCase);
      try {
        const stream = inference.client
          .streamInference(
            { modelId: "noise-1000", prompt: `deadline ${protocolCase.name}`, batchSize },
            { timeoutMs: 500 },
          )
          [Symbol.asyncIterator]();
        let chunks = 0;
        let caught: unknown;
        try {
          // On a busy machine the deadline may pass before the first chunk.
          if (!(await stream.next()).done) {
            chunks++;
            // Nothing more is read until the call has ended on the server.
            await waitForNoCalls(srv.server);
            while (!(await stream.next()).done) chunks++;
          }
        } catch (err) {
          caught = err;
        }
        assert.ok(caught !== undefined, `the stream ended without an error after ${chunks} chunks`);
        const error = ConnectError.from(caught);
        assert.equal(Code[error.code], Code[Code.DeadlineExceeded], error.message);
        assert.ok(chunks < batchSize * 4, "every chunk arrived");
      } finally {
        inference.close();
      }
      await assertGenerationStopped(srv, before);
    });
  }

  it("grpc-js with a deadline", async () => {
    const before = await imagesDrawnWhenIdle(srv.server, "noise-1000");
    const client = createGrpcJsClient(`127.0.0.1:${srv.port}`);
    try {
      const call = client.StreamInference(
        { model_id: "noise-1000", prompt: "deadline grpc-js", batch_size: batchSize },
        { deadline: Date.now() + 500 },
      );
      const ended = new Promise<grpc.ServiceError>((resolve, reject) => {
        call.on("error", resolve);
        call.on("end", () => reject(new Error("the stream ended without an error")));
      });
      // The first chunk (unless the deadline comes first), then nothing
      // until the call has ended on the server.
      const first = new Promise<void>((resolve) => {
        call.once("data", () => {
          call.pause();
          resolve();
        });
      });
      await within(
        Promise.race([first, ended.then(ignore, ignore)]),
        "the first chunk or the end of the call",
      );
      await waitForNoCalls(srv.server);
      call.on("data", () => {});
      call.resume();
      const error = await ended;
      assert.equal(error.code, grpc.status.DEADLINE_EXCEEDED, error.message);
    } finally {
      client.close();
    }
    await assertGenerationStopped(srv, before);
  });
});
