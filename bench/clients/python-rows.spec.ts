/**
 * The Python rows (`npm run bench:test`): each client stack of
 * bench/clients/python-client.py, driven as the bench drives it, against a
 * real server on port 0: the calls answer, the images arrive verified and
 * the same over every stack, errors come back as errors, and the driver
 * reports its CPU.
 *
 * Needs /usr/bin/python3 with python3-grpcio, python3-protobuf and
 * python3-httpx (--python's default); skips with one line without them,
 * unless MODELMORA_REQUIRE_PYTHON=1 (CI).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { createServer, type ModelMoraServer } from "../../src/index.js";
import type { BenchOptions } from "../cli/index.js";
import { pythonFamily, pythonRowInfos } from "./python-rows.js";
import type { OpenedFamily } from "./rows.js";

const python = "/usr/bin/python3";
const probe = spawnSync(python, ["-c", "import grpc, google.protobuf, httpx"], {
  encoding: "utf8",
});
const missing =
  probe.status === 0
    ? undefined
    : `${python} cannot import grpc, google.protobuf and httpx (python3-grpcio, python3-protobuf, python3-httpx)`;
const required = process.env.MODELMORA_REQUIRE_PYTHON === "1";

describe("the Python rows", { skip: !required && missing }, () => {
  let server: ModelMoraServer;
  let family: OpenedFamily;

  before(async () => {
    assert.equal(missing, undefined, `MODELMORA_REQUIRE_PYTHON=1 but ${missing}`);
    server = createServer({});
    const { url } = await server.listen(0, "127.0.0.1");
    family = await pythonFamily.open(
      {
        baseUrl: url,
        windowBytes: 16 * 1024 * 1024,
        chunkBytes: 1_000_000,
        headers: {},
        stats: undefined,
        options: { python } as BenchOptions,
      },
      pythonRowInfos,
    );
  });
  after(async () => {
    await family?.close();
    await server?.close(1000);
  });

  it("offers every row, as the python client stack", () => {
    assert.deepEqual(
      family.rows.map((row) => [row.id, row.client, row.protocol]),
      [
        ["python-grpcio", "python", "grpc"],
        ["python-httpx-h1", "python", "rest"],
        ["python-sdk-grpc", "python", "grpc"],
        ["python-sdk-rest-h1", "python", "rest"],
      ],
    );
  });

  it("streams verified images, the same over every stack", async () => {
    const digests: string[][] = [];
    for (const row of family.rows) {
      const client = row.createClient();
      try {
        await client.unary();
        // noise-1000: several chunks per image; a batch of one is REST's PNG answer.
        for (const batchSize of [3, 1]) {
          const outcome = await client.stream(
            { modelId: "noise-1000", prompt: "python rows", batchSize },
            "deferred",
          );
          const images = outcome.assembler.finish();
          assert.deepEqual(
            images.map((image) => image.index),
            [...Array(batchSize).keys()],
            row.id,
          );
          assert.equal(
            outcome.payloadBytes,
            images.reduce((sum, image) => sum + image.bytes, 0),
          );
          assert.equal(outcome.chunks, 4 * batchSize, `${row.id}: noise-1000 is 4 chunks an image`);
          assert.ok(outcome.totalMs >= outcome.firstChunkMs && outcome.firstChunkMs > 0, row.id);
          if (batchSize === 3) digests.push(images.map((image) => image.sha256));
        }
        const inline = await client.stream(
          { modelId: "thumb-64", prompt: "python rows", batchSize: 2 },
          "inline",
        );
        assert.equal(inline.assembler.finish().length, 2);
      } finally {
        client.close();
      }
    }
    assert.equal(digests.length, 4);
    for (const list of digests) assert.deepEqual(list, digests[0]);
  });

  it("fails a call the server refuses, and goes on", async () => {
    for (const row of family.rows) {
      const client = row.createClient();
      try {
        await assert.rejects(
          client.stream({ modelId: "no-such-model", prompt: "x", batchSize: 1 }, "deferred"),
          /not a model of this server|NOT_FOUND|not_found|404/,
          row.id,
        );
        await client.unary();
      } finally {
        client.close();
      }
    }
  });

  it("reports the driver's CPU, which grows with work", async () => {
    const row = family.rows[0];
    assert.ok(row?.clientCpuMs);
    const before = await row.clientCpuMs();
    const client = row.createClient();
    try {
      await client.stream(
        { modelId: "noise-1000", prompt: "python rows", batchSize: 3 },
        "deferred",
      );
    } finally {
      client.close();
    }
    assert.ok((await row.clientCpuMs()) > before);
  });
});
