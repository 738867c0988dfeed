/**
 * Many concurrent streams on one HTTP/2 connection, as a browser opens
 * them (every stream to an origin on one connection): each must be served,
 * none refused by the HTTP/2 layer for the session's memory.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createInferenceClient } from "../../src/client/index.js";
import { startServer, type TestServer } from "../support/index.js";

describe("many streams on one HTTP/2 connection", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer();
  });
  after(() => srv.close());

  for (const protocol of ["connect-json", "connect", "grpc"] as const) {
    it(`serves 10 concurrent noise-1000 streams over ${protocol}, none refused`, async () => {
      // A small connection window, as a browser's is against ten streams:
      // what the server writes ahead waits in its HTTP/2 session.
      const inference = createInferenceClient({
        baseUrl: srv.url,
        protocol,
        httpVersion: "2",
        windowBytes: 1024 * 1024,
      });
      try {
        const results = await Promise.allSettled(
          Array.from({ length: 10 }, async (_, i) => {
            let bytes = 0;
            const request = { modelId: "noise-1000", prompt: `one connection ${i}`, batchSize: 2 };
            for await (const chunk of inference.client.streamInference(request)) {
              bytes += chunk.data.byteLength;
            }
            return bytes;
          }),
        );
        const failed = results.filter((result) => result.status === "rejected");
        assert.deepEqual(failed, [], "every stream served");
        for (const result of results) {
          assert.equal((result as PromiseFulfilledResult<number>).value, 2 * 3_005_928);
        }
      } finally {
        inference.close();
      }
    });
  }
});
