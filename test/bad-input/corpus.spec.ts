/**
 * Runs the malformed-input corpus (corpus.ts) against a real server: every
 * row over its protocol group, each checked for its code, HTTP status,
 * message and headers in the shape its protocol uses; after each group's
 * rows, a good request of that group is still served. Then: REST and
 * Connect JSON treat JSON alike, bodies the server stops reading over
 * HTTP/2 don't wedge the connection, and a gRPC client gets UNIMPLEMENTED
 * for a method the server does not have.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import {
  type RawRequest,
  rawRequest,
  startServer,
  type TestServer,
  waitForNoConnections,
} from "../support/index.js";
import {
  type CorpusCase,
  corpus,
  type Group,
  goodRequest,
  groups,
  listModelsPath,
} from "./corpus.js";
import { checkRow, readResponse, sendRow } from "./corpus-runner.js";

describe("the malformed-input corpus", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv.close();
  });

  it("has at least 50 cases per protocol group", (t) => {
    const counts = Object.fromEntries(
      groups.map((group) => [group.name, corpus.filter((row) => row.group === group).length]),
    );
    t.diagnostic(`cases per group: ${JSON.stringify(counts)}; ${corpus.length} in all`);
    for (const [name, count] of Object.entries(counts)) {
      assert.ok(count >= 50, `${name} has ${count} cases`);
    }
  });

  for (const group of groups) {
    describe(group.label, () => {
      for (const row of corpus.filter((r) => r.group === group)) {
        it(row.name, async () => {
          checkRow(row, await sendRow(srv.url, row));
        });
      }

      it("still serves a good request after every case above", async () => {
        const request = goodRequest(group);
        const seen = readResponse(group, request, await rawRequest(srv.url, request));
        assert.equal(seen.code, "ok", `${seen.code}: ${seen.message}`);
        assert.ok(seen.servedBytes > 0);
      });
    });
  }

  describe("one JSON policy: REST and Connect JSON agree on every JSON case", () => {
    for (const httpVersion of ["1", "2"]) {
      const rest = corpus.filter((row) => row.group.name === `rest-h${httpVersion}`);
      const connect = corpus.filter((row) => row.group.name === `connect-json-h${httpVersion}`);
      const shared = rest.filter(
        (row) =>
          row.send.kind === "request" &&
          connect.some((other) => other.name === row.name && other.send.kind === "request"),
      );
      it(`over HTTP/${httpVersion === "1" ? "1.1" : "2"}: ${shared.length} cases, the same code and message`, async () => {
        assert.ok(shared.length >= 30, `only ${shared.length} shared cases`);
        for (const row of shared) {
          const twin = connect.find((other) => other.name === row.name) as CorpusCase;
          const [a, b] = await Promise.all([sendRow(srv.url, row), sendRow(srv.url, twin)]);
          if (row.name.startsWith("content-type") || row.name.startsWith("the path")) {
            assert.equal(a.http, b.http, `${row.name}: REST ${a.http}, Connect JSON ${b.http}`);
            continue;
          }
          // Byte counts differ by the envelope's 5 bytes.
          const shape = (text?: string) => text?.replace(/\d+/g, "N");
          assert.deepEqual(
            { code: a.code, message: shape(a.message) },
            { code: b.code, message: shape(b.message) },
            `${row.name}: REST and Connect JSON differ`,
          );
        }
      });
    }
  });

  describe("a body the server stops reading, over HTTP/2", () => {
    // Node pauses a whole HTTP/2 session while a request body it stopped
    // reading sits unread; the server must discard it, or the connection
    // never sees the client leave.
    const oversized = (group: Group, path = group.path): RawRequest => ({
      ...goodRequest(group),
      path,
      body:
        path === listModelsPath
          ? JSON.stringify({ pad: "x".repeat(100_000) })
          : Buffer.concat([goodRequest(group).body as Buffer, Buffer.alloc(100_000, 0x20)]),
      headers:
        path === listModelsPath
          ? { "content-type": "application/json" }
          : (goodRequest(group).headers as Record<string, string>),
    });
    const grpcGroup = groups.find((g) => g.name === "grpc-h2") as Group;
    const restGroup = groups.find((g) => g.name === "rest-h2") as Group;
    const cases: [string, RawRequest][] = [
      ["StreamInference over gRPC", oversized(grpcGroup)],
      ["ListModels over Connect", oversized(grpcGroup, listModelsPath)],
      ["POST /infer/stream", oversized(restGroup)],
    ];
    for (const [name, request] of cases) {
      it(`closes the connection after a 100 KB body to ${name} once the client leaves`, async () => {
        const res = await rawRequest(srv.url, request);
        assert.ok(res.status === 200 || res.status === 400, `HTTP ${res.status}`);
        await waitForNoConnections(srv.server);
        assert.equal(srv.server.activeCallCount, 0);
      });
    }
  });

  it("answers a gRPC client's call to a method the server does not have with UNIMPLEMENTED (grpc-js)", async () => {
    const Client = grpc.makeGenericClientConstructor(
      {
        Nope: {
          path: "/modelmora.InferenceService/Nope",
          requestStream: false,
          responseStream: false,
          requestSerialize: (value: Buffer) => value,
          requestDeserialize: (value: Buffer) => value,
          responseSerialize: (value: Buffer) => value,
          responseDeserialize: (value: Buffer) => value,
        },
      },
      "Nope",
    );
    const client = new Client(`127.0.0.1:${srv.port}`, grpc.credentials.createInsecure());
    try {
      const code = await new Promise<number>((resolve) => {
        (
          client as unknown as {
            Nope(req: Buffer, cb: (err: grpc.ServiceError | null) => void): void;
          }
        ).Nope(Buffer.alloc(0), (err) => resolve(err?.code ?? 0));
      });
      assert.equal(code, grpc.status.UNIMPLEMENTED);
    } finally {
      client.close();
    }
  });
});
