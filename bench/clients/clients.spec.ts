/**
 * The bench's clients of the binary protocols against a real server on a
 * free port (`npm run bench:test`): the wire client (the SDK's decoder and
 * wire protocols under the bench's own HTTP) and the SDK client
 * (streamImages) receive the same verified images over every binary
 * protocol and HTTP version, count their messages and socket bytes, and
 * fail with the server's code.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError, createServer, type ModelMoraServer } from "../../src/index.js";
import { createConnectBenchClient } from "./connect-client.js";
import type { BenchClient } from "./types.js";
import { createWireBenchClient } from "./wire-client.js";

const pairs = [
  ["grpc", "2"],
  ["grpc-web", "1.1"],
  ["grpc-web", "2"],
  ["connect", "1.1"],
  ["connect", "2"],
] as const;

const call = { modelId: "thumb-64", prompt: "bench clients spec", batchSize: 3 };

describe("bench clients of the binary protocols", () => {
  let server: ModelMoraServer;
  let baseUrl: string;
  before(async () => {
    server = createServer();
    baseUrl = (await server.listen(0, "127.0.0.1")).url;
  });
  after(async () => {
    await server.close();
  });

  for (const [protocol, httpVersion] of pairs) {
    const options = { protocol, httpVersion, windowBytes: 16 * 1024 * 1024 };
    const clients: Record<string, () => BenchClient> = {
      wire: () => createWireBenchClient({ baseUrl, ...options }),
      sdk: () => createConnectBenchClient({ baseUrl, ...options, read: "images" }),
    };

    it(`${protocol} over HTTP/${httpVersion}: wire and SDK clients get the same verified images`, async () => {
      const hashes: string[][] = [];
      for (const [name, create] of Object.entries(clients)) {
        const client = create();
        try {
          await client.unary();
          const outcome = await client.stream(call, "deferred");
          const images = outcome.assembler.finish();
          assert.deepEqual(
            images.map((image) => image.index),
            [0, 1, 2],
            name,
          );
          assert.equal(
            outcome.payloadBytes,
            images.reduce((sum, image) => sum + image.bytes, 0),
            name,
          );
          // thumb-64 images fit in one chunk each: one message per image.
          assert.equal(outcome.chunks, 3, name);
          assert.ok(outcome.firstChunkMs >= 0 && outcome.firstChunkMs <= outcome.totalMs, name);
          assert.ok((client.sockets?.bytesRead() ?? 0) > outcome.payloadBytes, name);
          hashes.push(images.map((image) => image.sha256));
        } finally {
          client.close();
        }
      }
      assert.deepEqual(hashes[0], hashes[1]);
    });

    it(`${protocol} over HTTP/${httpVersion}: a failed call rejects with the server's code`, async () => {
      for (const [name, create] of Object.entries(clients)) {
        const client = create();
        try {
          await assert.rejects(
            client.stream({ ...call, modelId: "no-such-model" }, "deferred"),
            (err: unknown) => {
              assert.equal(ConnectError.from(err).code, Code.NotFound, name);
              return true;
            },
          );
          // The client still works after a failed call.
          const outcome = await client.stream(call, "deferred");
          assert.equal(outcome.assembler.finish().length, 3, name);
        } finally {
          client.close();
        }
      }
    });
  }
});
