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
import { parseEnvelopes, startServer, type TestServer, waitForNoConnections } from "../helpers.js";
import {
  connectStreamStatus,
  connectUnaryStatus,
  grpcStatus,
  grpcWebStatus,
  type RawRequest,
  type RawResponse,
  rawRequest,
} from "../raw-http.js";
import {
  connectH2,
  dataFrame,
  describeStream,
  errorCodeName,
  headersFrame,
} from "../robustness/h2/index.js";
import { http1Status, rawSocket, waitForSocketClose } from "../robustness/support.js";
import {
  type CorpusCase,
  corpus,
  type Group,
  goodRequest,
  groups,
  listModelsPath,
  rawH2HeaderBlock,
} from "./corpus.js";

/** What came back for a row. */
interface Observed {
  /** HTTP status (0 when none: raw HTTP/2 rows). */
  http: number;
  code?: string;
  message?: string;
  /** Response headers and trailers, and gRPC-Web trailer fields. */
  fields: Record<string, string>;
  /** The RST_STREAM code of a raw HTTP/2 row's stream. */
  reset?: number;
  /** Image bytes served, for rows that succeed. */
  servedBytes: number;
}

function isUnary(group: Group, request: RawRequest): boolean {
  return group.protocol === "rest" || request.path.startsWith(listModelsPath);
}

function readResponse(group: Group, request: RawRequest, res: RawResponse): Observed {
  const fields = { ...res.headers, ...res.trailers };
  if (isUnary(group, request) || res.status !== 200) {
    const status = res.status === 200 ? { code: "ok", message: "" } : connectUnaryStatus(res);
    return { http: res.status, ...status, fields, servedBytes: res.body.length };
  }
  const served = parseEnvelopes(res.body)
    .filter(({ flags }) => flags === 0)
    .reduce((sum, { data }) => sum + data.length, 0);
  const status =
    group.protocol === "grpc"
      ? grpcStatus(res)
      : group.protocol === "grpc-web"
        ? grpcWebStatus(res)
        : connectStreamStatus(res);
  if (group.protocol === "connect" || group.protocol === "connect-json") {
    // Connect sends error metadata in the end-of-stream message.
    const end = parseEnvelopes(res.body).find(({ flags }) => (flags & 0x02) !== 0);
    const json = JSON.parse(end?.data.toString("utf8") ?? "{}") as {
      metadata?: Record<string, string[]>;
    };
    for (const [name, values] of Object.entries(json.metadata ?? {}))
      fields[name] = values.join(", ");
  }
  if (group.protocol === "grpc-web") {
    // The trailer frame's fields, for header checks.
    const trailer = parseEnvelopes(res.body).find(({ flags }) => (flags & 0x80) !== 0);
    for (const line of trailer?.data.toString("utf8").split("\r\n") ?? []) {
      const colon = line.indexOf(":");
      if (colon > 0)
        fields[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
  }
  return { http: res.status, ...status, fields, servedBytes: served };
}

/** Sends a row and reads what came back. */
async function sendRow(url: string, row: CorpusCase): Promise<Observed> {
  const { send, group } = row;
  switch (send.kind) {
    case "request":
      return readResponse(group, send.request, await rawRequest(url, send.request));
    case "raw-http1": {
      const raw = await rawSocket(url);
      raw.write(send.bytes);
      await waitForSocketClose(raw.socket, row.name, 10_000);
      const text = raw.received();
      const body = text.slice(text.indexOf("\r\n\r\n") + 4);
      let status: { code?: string; message?: string } = {};
      if (/^content-type: application\/json/im.test(text)) {
        status = JSON.parse(Buffer.from(body, "latin1").toString("utf8")) as typeof status;
      }
      return { http: http1Status(text) ?? 0, ...status, fields: {}, servedBytes: 0 };
    }
    case "raw-h2": {
      const h2 = await connectH2({ url });
      try {
        await h2.settings();
        const id = h2.nextStreamId();
        h2.send(headersFrame(id, rawH2HeaderBlock(send.fields)));
        if (send.body !== undefined) h2.send(dataFrame(id, send.body, true));
        await h2.waitUntil(
          () => h2.stream(id).resetCode !== undefined || h2.stream(id).ended || h2.isClosed,
          `the answer to ${row.name}`,
        );
        const state = h2.stream(id);
        return {
          http: state.status ?? 0,
          reset: state.resetCode,
          message: describeStream(state),
          fields: {},
          servedBytes: state.dataBytes,
        };
      } finally {
        h2.destroy();
      }
    }
  }
}

function check(row: CorpusCase, seen: Observed): void {
  const { expect, group } = row;
  const shown = `HTTP ${seen.http}, ${seen.code ?? "-"}: ${seen.message ?? ""}`;
  if (expect.reset !== undefined) {
    assert.equal(
      seen.reset,
      expect.reset,
      `expected RST_STREAM ${errorCodeName(expect.reset)}, got ${seen.message}`,
    );
  }
  if (expect.code !== undefined) {
    assert.equal(seen.code, expect.code, shown);
    if (expect.code === "ok") assert.ok(seen.servedBytes > 0, "a successful call served nothing");
  }
  if (expect.http !== undefined) {
    const request = row.send.kind === "request" ? row.send.request : undefined;
    const unary = request === undefined || isUnary(group, request);
    // A streaming RPC answers in its protocol's framing (HTTP 200) unless it
    // was refused before its protocol was read.
    const status = unary || expect.httpError ? expect.http : 200;
    assert.equal(seen.http, status, shown);
  }
  if (expect.message !== undefined) {
    assert.match(seen.message ?? "", expect.message, shown);
  }
  if (expect.header !== undefined) {
    const [name, value] = expect.header;
    assert.match(seen.fields[name] ?? "", value, `header ${name}: ${JSON.stringify(seen.fields)}`);
  }
}

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
          check(row, await sendRow(srv.url, row));
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
