/**
 * Health: the standard gRPC health protocol (grpc.health.v1.Health, Check
 * and Watch, generated from its proto) over every RPC protocol and from
 * grpc-js, next to GET /healthz. Readiness during shutdown is in
 * test/shutdown/.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, createClient } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../src/index.js";
import {
  assertCode,
  callHealthCheck,
  clientFor,
  createGrpcJsHealthClient,
  grpcJsHealthCheck,
  httpRequest,
  rpcCases,
  startServer,
  type TestServer,
} from "../support/index.js";

describe("grpc.health.v1.Health and GET /healthz", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv.close();
  });

  for (const protocolCase of rpcCases) {
    it(`${protocolCase.name}: Check answers SERVING, and NOT_FOUND for an unknown service`, async () => {
      for (const service of ["", "modelmora.InferenceService", "grpc.health.v1.Health"]) {
        const outcome = await callHealthCheck(srv, protocolCase, { service });
        assertCode(outcome, undefined, `Check "${service}"`);
        assert.equal(outcome.status, "SERVING");
      }
      const unknown = await callHealthCheck(srv, protocolCase, { service: "no.such.Service" });
      assertCode(unknown, Code.NotFound);
      assert.match(unknown.message, /unknown service "no\.such\.Service"/);
    });

    it(`${protocolCase.name}: Watch of an unknown service answers SERVICE_UNKNOWN`, async () => {
      const inference = clientFor(srv, protocolCase);
      try {
        const health = createClient(Health, inference.transport);
        const statuses: string[] = [];
        for await (const response of health.watch({ service: "no.such.Service" })) {
          statuses.push(ServingStatus[response.status]);
        }
        assert.deepEqual(statuses, ["SERVICE_UNKNOWN"]);
      } finally {
        inference.close();
      }
    });
  }

  it("grpc-js, with the proto loaded at run time: SERVING, and NOT_FOUND", async () => {
    const client = createGrpcJsHealthClient(srv.url);
    try {
      const serving = await grpcJsHealthCheck(client, "");
      assert.equal(serving.error, null);
      assert.equal(serving.status, "SERVING");
      const unknown = await grpcJsHealthCheck(client, "no.such.Service");
      assert.equal(unknown.error?.code, grpc.status.NOT_FOUND);
    } finally {
      client.close();
    }
  });

  it("GET /healthz answers 200 with status SERVING, the cache and the process", async () => {
    const response = await httpRequest(srv, { method: "GET", path: "/healthz" });
    assert.equal(response.status, 200);
    assert.match(String(response.headers["content-type"]), /^application\/json/);
    const body = JSON.parse(response.body.toString("utf8"));
    assert.equal(body.status, "SERVING");
    assert.equal(typeof body.cache.entries, "number");
    assert.equal(typeof body.active_calls, "number");
    assert.equal(typeof body.process.rss_bytes, "number");
  });
});
