/**
 * The proof of concept's kind of Python client (grpcio, stubs generated at
 * run time from the proof of concept's proto by proof_of_concept_client.py)
 * against a real server: its workload, noise-1000 with batch_size 10, is 40
 * chunks and about 30.1 MB. Skipped without a Python that has grpcio, unless
 * MODELMORA_REQUIRE_PYTHON=1 (CI).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  findPython,
  run,
  skipWithoutPython,
  startServer,
  type TestServer,
} from "../support/index.js";

/** The proof of concept's request. */
const pocRequest = { model_id: "noise-1000", prompt: "a photo of a cat", batch_size: 10 };
/** The proof of concept's "30.1MB": 10 PNG files of 3,005,928 bytes. */
const minBytes = 30_000_000;
const maxBytes = 30_200_000;

describe("the proof of concept's Python client", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv.close();
  });

  it("gives 40 chunks and about 30.1 MB to the proof of concept's Python client", async (t) => {
    const found = await findPython();
    if (!("python" in found)) {
      skipWithoutPython(t, found.reason);
      return;
    }
    const result = await run(found.python, [
      "test/python/proof_of_concept_client.py",
      `127.0.0.1:${srv.port}`,
      "--model",
      pocRequest.model_id,
      "--prompt",
      pocRequest.prompt,
      "--batch-size",
      String(pocRequest.batch_size),
    ]);
    assert.equal(
      result.code,
      0,
      `proof_of_concept_client.py failed: ${result.stderr}${result.stdout}`,
    );
    const summary = JSON.parse(result.stdout.toString("utf8")) as {
      chunks: number;
      bytes: number;
      request_ids: number;
      images: { index: number; chunks: number; total_chunks: number; sha256_ok: boolean }[];
    };
    assert.equal(summary.chunks, 40);
    assert.ok(summary.bytes > minBytes && summary.bytes < maxBytes, `${summary.bytes} bytes`);
    assert.equal(summary.request_ids, 1);
    assert.equal(summary.images.length, 10);
    for (const image of summary.images) {
      assert.equal(image.chunks, image.total_chunks, `image ${image.index}`);
      assert.ok(image.sha256_ok, `image ${image.index}: SHA-256 does not match image_sha256`);
    }
  });
});
