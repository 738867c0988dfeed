/**
 * Every request field is checked, over every protocol, with a message that
 * names the field and says why; the limits themselves are accepted; REST
 * bodies that are not the request object get 400 saying what is wrong.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import {
  assertCode,
  assertRefused,
  callStream,
  httpRequest,
  protocolCases,
  startServer,
  type TestServer,
} from "../support/index.js";

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
        const response = await httpRequest(srv, {
          method: "POST",
          path: "/infer/stream",
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
