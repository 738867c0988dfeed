/**
 * Every kind of bad input, sent by hand over every protocol and both HTTP
 * versions: malformed, mistyped, unknown-field, truncated and oversized
 * bodies, unknown models and out-of-range batch sizes, unknown paths and
 * wrong methods. Each gets a clear error in its protocol's own shape, and
 * the server goes on serving after each.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { InferenceRequestSchema } from "../../src/index.js";
import {
  connectStreamStatus,
  connectUnaryStatus,
  envelope,
  grpcStatus,
  grpcWebStatus,
  parseEnvelopes,
  type RawRequest,
  type RawResponse,
  rawRequest,
  startServer,
  type TestServer,
  type WireStatus,
  waitForNoConnections,
} from "../support/index.js";

const streamPath = "/modelmora.InferenceService/StreamInference";
const listModelsPath = "/modelmora.InferenceService/ListModels";

/** How one protocol carries a StreamInference request and reports its outcome. */
interface WireFormat {
  readonly name: string;
  readonly httpVersion: "1.1" | "2";
  /** JSON formats take JSON text; the others binary protobuf. */
  readonly json: boolean;
  /** Whether the message travels in a 5-byte envelope. */
  readonly enveloped: boolean;
  /** Builds the request around an encoded message (or around raw bytes). */
  request(body: Buffer): RawRequest;
  status(res: RawResponse): WireStatus;
  /** Reads the images' bytes out of a successful response, to check it served. */
  servedBytes(res: RawResponse): number;
}

function rpcFormat(
  name: string,
  httpVersion: "1.1" | "2",
  contentType: string,
  json: boolean,
  status: (res: RawResponse) => WireStatus,
  extraHeaders: Record<string, string> = {},
): WireFormat {
  return {
    name: `${name} over HTTP/${httpVersion}`,
    httpVersion,
    json,
    enveloped: true,
    request: (body) => ({
      httpVersion,
      method: "POST",
      path: streamPath,
      headers: { "content-type": contentType, ...extraHeaders },
      body,
    }),
    status,
    servedBytes: (res) =>
      parseEnvelopes(res.body)
        .filter(({ flags }) => flags === 0)
        .reduce((sum, { data }) => sum + data.length, 0),
  };
}

function restFormat(httpVersion: "1.1" | "2"): WireFormat {
  return {
    name: `REST over HTTP/${httpVersion}`,
    httpVersion,
    json: true,
    enveloped: false,
    request: (body) => ({
      httpVersion,
      method: "POST",
      path: "/infer/stream",
      headers: { "content-type": "application/json" },
      body,
    }),
    status: connectUnaryStatus,
    servedBytes: (res) => res.body.length,
  };
}

const formats: readonly WireFormat[] = [
  rpcFormat("gRPC", "2", "application/grpc+proto", false, grpcStatus, { te: "trailers" }),
  rpcFormat("gRPC-Web", "1.1", "application/grpc-web+proto", false, grpcWebStatus),
  rpcFormat("gRPC-Web", "2", "application/grpc-web+proto", false, grpcWebStatus),
  rpcFormat("Connect binary", "1.1", "application/connect+proto", false, connectStreamStatus),
  rpcFormat("Connect binary", "2", "application/connect+proto", false, connectStreamStatus),
  rpcFormat("Connect JSON", "1.1", "application/connect+json", true, connectStreamStatus),
  rpcFormat("Connect JSON", "2", "application/connect+json", true, connectStreamStatus),
  restFormat("1.1"),
  restFormat("2"),
];

/** Encodes a request the way format sends it, inside its envelope if it has one. */
function encode(
  format: WireFormat,
  fields: { modelId?: string; prompt?: string; batchSize?: number },
) {
  const message = format.json
    ? Buffer.from(
        JSON.stringify({
          model_id: fields.modelId,
          prompt: fields.prompt,
          batch_size: fields.batchSize,
        }),
      )
    : Buffer.from(toBinary(InferenceRequestSchema, create(InferenceRequestSchema, fields)));
  return wrap(format, message);
}

function wrap(format: WireFormat, message: Buffer): Buffer {
  return format.enveloped ? envelope(message) : message;
}

/** The HTTP status REST and Connect unary answer for each code. */
const httpStatusOf: Record<string, number> = {
  invalid_argument: 400,
  not_found: 404,
};

describe("bad input over every protocol", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv.close();
  });

  for (const format of formats) {
    describe(format.name, () => {
      async function send(body: Buffer): Promise<RawResponse> {
        return rawRequest(srv.url, format.request(body));
      }

      async function expectError(body: Buffer, code: string, pattern: RegExp) {
        const res = await send(body);
        const status = format.status(res);
        assert.equal(status.code, code, `got ${status.code}: ${status.message}`);
        assert.match(status.message, pattern);
        if (!format.enveloped) {
          // REST: the status from the one table, and a JSON body of exactly {code, message}.
          assert.equal(res.status, httpStatusOf[code]);
          assert.match(res.headers["content-type"] ?? "", /^application\/json/);
          assert.deepEqual(Object.keys(JSON.parse(res.body.toString("utf8"))).sort(), [
            "code",
            "message",
          ]);
        }
        // The server goes on serving, over the same protocol.
        const ok = await send(encode(format, { modelId: "thumb-64", prompt: "ok", batchSize: 1 }));
        assert.equal(
          format.status(ok).code,
          "ok",
          `the next request failed: ${format.status(ok).message}`,
        );
        assert.ok(format.servedBytes(ok) > 0, "the next request served nothing");
      }

      it("NOT_FOUND (REST 404) for an unknown model", async () => {
        await expectError(
          encode(format, { modelId: "gpt-image", prompt: "x", batchSize: 1 }),
          "not_found",
          /model_id "gpt-image" is not a model of this server; one of: noise-1000, test-model, scene-1024, thumb-64, noise-1k, noise-10k, noise-100k, noise-1m, noise-10m/,
        );
      });

      for (const batchSize of [0, -5, 33]) {
        it(`INVALID_ARGUMENT (REST 400) for batch_size ${batchSize}`, async () => {
          await expectError(
            encode(format, { modelId: "thumb-64", prompt: "x", batchSize }),
            "invalid_argument",
            /batch_size must be from 1 to 32/,
          );
        });
      }

      it("INVALID_ARGUMENT (REST 400) for a malformed body", async () => {
        await expectError(
          wrap(
            format,
            format.json
              ? Buffer.from('{"model_id": "thumb-64",')
              : Buffer.from("ffffffff0a", "hex"),
          ),
          "invalid_argument",
          format.json ? /JSON/ : /premature EOF|parse|decode/i,
        );
      });

      it("INVALID_ARGUMENT (REST 400) for a field of the wrong type", async () => {
        await expectError(
          wrap(
            format,
            format.json
              ? Buffer.from('{"model_id":"thumb-64","prompt":"x","batch_size":"many"}')
              : // Field 1, model_id, a string, sent as a varint.
                Buffer.from("0805", "hex"),
          ),
          "invalid_argument",
          format.json ? /batch_size|batchSize/ : /premature EOF|parse|decode/i,
        );
      });

      if (format.json) {
        it("INVALID_ARGUMENT (REST 400) for an unknown field", async () => {
          await expectError(
            wrap(
              format,
              Buffer.from('{"model_id":"thumb-64","prompt":"x","batch_size":1,"colour":"red"}'),
            ),
            "invalid_argument",
            /colour/,
          );
        });
      } else {
        it("keeps serving a binary request with an unknown field (protobuf forward compatibility)", async () => {
          const known = toBinary(
            InferenceRequestSchema,
            create(InferenceRequestSchema, { modelId: "thumb-64", prompt: "x", batchSize: 1 }),
          );
          // Field 99, a varint: what a newer client's extra field looks like.
          const res = await send(
            wrap(format, Buffer.concat([known, Buffer.from("98060f", "hex")])),
          );
          assert.equal(format.status(res).code, "ok");
          assert.ok(format.servedBytes(res) > 0);
        });
      }

      if (format.enveloped) {
        it("INVALID_ARGUMENT for a truncated envelope", async () => {
          const whole = encode(format, { modelId: "thumb-64", prompt: "x", batchSize: 1 });
          await expectError(
            whole.subarray(0, whole.length - 3),
            "invalid_argument",
            /envelope|premature|incomplete/i,
          );
        });
      } else {
        it("INVALID_ARGUMENT (REST 400) for a body that is not an object", async () => {
          await expectError(Buffer.from('["thumb-64"]'), "invalid_argument", /JSON object/);
        });
      }

      it("INVALID_ARGUMENT (REST 400) for a 100 KB body", async () => {
        await expectError(
          encode(format, { modelId: "thumb-64", prompt: "x".repeat(100_000), batchSize: 1 }),
          "invalid_argument",
          /request body is \d+ bytes or more; the limit is 65536/,
        );
      });
    });
  }

  describe("Connect unary (ListModels)", () => {
    for (const httpVersion of ["1.1", "2"] as const) {
      const post = (contentType: string, body: string | Buffer): Promise<RawResponse> =>
        rawRequest(srv.url, {
          httpVersion,
          method: "POST",
          path: listModelsPath,
          headers: { "content-type": contentType },
          body,
        });
      const cases: [string, () => Promise<RawResponse>, RegExp][] = [
        ["malformed JSON", () => post("application/json", "{bad"), /JSON/],
        ["an unknown field", () => post("application/json", '{"verbose":true}'), /verbose/],
        ["a JSON array", () => post("application/json", "[]"), /ListModelsRequest/],
        [
          "a 100 KB body",
          () => post("application/json", JSON.stringify({ pad: "x".repeat(100_000) })),
          /the limit is 65536/,
        ],
        [
          "a malformed GET message",
          () =>
            rawRequest(srv.url, {
              httpVersion,
              method: "GET",
              path: `${listModelsPath}?encoding=json&message=${encodeURIComponent("{bad")}`,
            }),
          /JSON/,
        ],
      ];
      for (const [name, send, pattern] of cases) {
        it(`INVALID_ARGUMENT, HTTP 400, for ${name} over HTTP/${httpVersion}`, async () => {
          const res = await send();
          assert.equal(res.status, 400);
          const status = connectUnaryStatus(res);
          assert.equal(status.code, "invalid_argument");
          assert.match(status.message, pattern);
          const ok = await post("application/json", "{}");
          assert.equal(ok.status, 200);
          assert.equal(JSON.parse(ok.body.toString("utf8")).models.length, 9);
        });
      }
    }
  });

  describe("a body the server stops reading, over HTTP/2", () => {
    // Node pauses a whole HTTP/2 session while a request body it stopped
    // reading sits unread; the server must discard it, or the connection
    // never sees the client leave.
    const oversized: [string, RawRequest][] = [
      [
        "StreamInference over gRPC",
        formats[0]?.request(
          encode(formats[0], { modelId: "thumb-64", prompt: "x".repeat(100_000), batchSize: 1 }),
        ) as RawRequest,
      ],
      [
        "ListModels over Connect",
        {
          httpVersion: "2",
          method: "POST",
          path: listModelsPath,
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ pad: "x".repeat(100_000) }),
        },
      ],
      [
        "POST /infer/stream",
        restFormat("2").request(Buffer.from(JSON.stringify({ prompt: "x".repeat(100_000) }))),
      ],
    ];
    for (const [name, request] of oversized) {
      it(`closes the connection after a 100 KB body to ${name} once the client leaves`, async () => {
        const res = await rawRequest(srv.url, request);
        assert.ok(res.status === 200 || res.status === 400, `HTTP ${res.status}`);
        await waitForNoConnections(srv.server);
        assert.equal(srv.server.activeCallCount, 0);
      });
    }
  });

  describe("unknown paths and wrong methods", () => {
    for (const httpVersion of ["1.1", "2"] as const) {
      const notFound: [string, string][] = [
        ["GET", "/index.html"], // the page is at / alone
        ["GET", "/nope"],
        ["POST", "/infer"],
        ["POST", "/modelmora.InferenceService/Nope"],
        ["POST", "/modelmora.OtherService/StreamInference"],
      ];
      for (const [method, path] of notFound) {
        it(`404 with a JSON error for ${method} ${path} over HTTP/${httpVersion}`, async () => {
          const res = await rawRequest(srv.url, {
            httpVersion,
            method,
            path,
            headers: { "content-type": "application/json" },
            body: method === "POST" ? "{}" : undefined,
          });
          assert.equal(res.status, 404);
          assert.deepEqual(JSON.parse(res.body.toString("utf8")), {
            code: "not_found",
            message: `no route for ${method} ${path}`,
          });
        });
      }

      const wrongMethod: [string, string, string][] = [
        ["GET", "/infer/stream", "POST"],
        ["PUT", "/infer/stream", "POST"],
        ["POST", "/healthz", "GET, HEAD"],
        ["DELETE", "/v1/models", "GET, HEAD"],
        ["GET", streamPath, "POST"],
        ["PUT", listModelsPath, "POST, GET"],
      ];
      for (const [method, path, allow] of wrongMethod) {
        it(`405 with Allow and a JSON error for ${method} ${path} over HTTP/${httpVersion}`, async () => {
          const res = await rawRequest(srv.url, {
            httpVersion,
            method,
            path,
            headers: { "content-type": "application/json" },
            body: method === "GET" || method === "DELETE" ? undefined : "{}",
          });
          assert.equal(res.status, 405);
          assert.equal(res.headers.allow, allow);
          const body = JSON.parse(res.body.toString("utf8"));
          assert.equal(body.code, "unimplemented");
          assert.match(body.message, new RegExp(`accepts .*not ${method}`));
        });
      }
    }

    it("UNIMPLEMENTED for a gRPC call to a method the server does not have (grpc-js)", async () => {
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
});
