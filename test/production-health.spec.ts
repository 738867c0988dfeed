/**
 * Issue 5, item 7: the standard gRPC health protocol (grpc.health.v1.Health,
 * Check and Watch, generated from its proto) next to GET /healthz, over
 * every protocol and from grpc-js; readiness turns NOT_SERVING when the
 * server starts shutting down.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../src/gen/grpc/health/v1/health_pb.js";
import { startServer, type TestServer, waitFor } from "./helpers.js";
import {
  assertCode,
  callHealthCheck,
  clientFor,
  holdStream,
  protocolCases,
  restRequest,
} from "./production-support.js";

const rpcCases = protocolCases.filter((c) => c.protocol !== "rest");

interface GrpcJsHealthClient extends grpc.Client {
  Check(
    request: { service: string },
    callback: (error: grpc.ServiceError | null, response?: { status: string }) => void,
  ): void;
  Watch(request: { service: string }): grpc.ClientReadableStream<{ status: string }>;
}

/** A grpc-js Health client from proto/grpc/health/v1/health.proto, loaded at run time. */
function grpcJsHealthClient(url: string): GrpcJsHealthClient {
  const protoPath = fileURLToPath(new URL("../proto/grpc/health/v1/health.proto", import.meta.url));
  const definition = protoLoader.loadSync(protoPath, { keepCase: true, enums: String });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    grpc: {
      health: {
        v1: {
          Health: new (target: string, credentials: grpc.ChannelCredentials) => GrpcJsHealthClient;
        };
      };
    };
  };
  return new loaded.grpc.health.v1.Health(
    url.replace("http://", ""),
    grpc.credentials.createInsecure(),
  );
}

function grpcJsCheck(client: GrpcJsHealthClient, service: string) {
  return new Promise<{ error: grpc.ServiceError | null; status?: string }>((resolve) => {
    client.Check({ service }, (error, response) => resolve({ error, status: response?.status }));
  });
}

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
    const client = grpcJsHealthClient(srv.url);
    try {
      const serving = await grpcJsCheck(client, "");
      assert.equal(serving.error, null);
      assert.equal(serving.status, "SERVING");
      const unknown = await grpcJsCheck(client, "no.such.Service");
      assert.equal(unknown.error?.code, grpc.status.NOT_FOUND);
    } finally {
      client.close();
    }
  });

  it("GET /healthz answers 200 with status SERVING, the cache and the process", async () => {
    const response = await restRequest(srv, "GET", "/healthz");
    assert.equal(response.status, 200);
    assert.match(String(response.headers["content-type"]), /^application\/json/);
    const body = JSON.parse(response.body.toString("utf8"));
    assert.equal(body.status, "SERVING");
    assert.equal(typeof body.cache.entries, "number");
    assert.equal(typeof body.active_calls, "number");
    assert.equal(typeof body.process.rss_bytes, "number");
  });
});

describe("readiness while the server shuts down", () => {
  it("Watch streams SERVING then NOT_SERVING on every protocol and grpc-js; /healthz turns 503", async () => {
    const srv = await startServer();
    const watchers = rpcCases.map((protocolCase) => {
      const inference = clientFor(srv, protocolCase);
      const statuses: string[] = [];
      const health = createClient(Health, inference.transport);
      const done = (async () => {
        try {
          for await (const response of health.watch({ service: "" })) {
            statuses.push(ServingStatus[response.status]);
          }
          return "ended";
        } catch (err) {
          return `failed: ${ConnectError.from(err).message}`;
        } finally {
          inference.close();
        }
      })();
      return { name: protocolCase.name, statuses, done };
    });
    const grpcJs = grpcJsHealthClient(srv.url);
    const grpcJsStatuses: string[] = [];
    const grpcJsDone = new Promise<string>((resolve) => {
      const call = grpcJs.Watch({ service: "modelmora.InferenceService" });
      call.on("data", (response: { status: string }) => grpcJsStatuses.push(response.status));
      call.on("error", (error) => resolve(`failed: ${error.message}`));
      call.on("end", () => resolve("ended"));
    });
    await waitFor(
      () =>
        watchers.every((watcher) => watcher.statuses.length === 1) && grpcJsStatuses.length === 1,
      "every watch to send its first status",
    );

    // A stream in flight keeps the server in its grace period; a probe's
    // request that is arriving on an open connection gets its answer.
    const held = await holdStream(srv);
    const connections = srv.server.connectionCount;
    const probe = net.connect(srv.port, "127.0.0.1");
    probe.write("GET /healthz HTTP/1.1\r\nhost: localhost\r\n");
    await waitFor(
      () => srv.server.connectionCount > connections,
      "the server to accept the probe's connection",
    );

    const closed = srv.server.close(20_000);
    try {
      for (const watcher of watchers) {
        assert.equal(await watcher.done, "ended", watcher.name);
        assert.deepEqual(watcher.statuses, ["SERVING", "NOT_SERVING"], watcher.name);
      }
      assert.equal(await grpcJsDone, "ended");
      assert.deepEqual(grpcJsStatuses, ["SERVING", "NOT_SERVING"]);

      const answer = new Promise<string>((resolve) => {
        let text = "";
        probe.setEncoding("utf8");
        probe.on("data", (data: string) => {
          text += data;
          if (text.includes("}")) resolve(text);
        });
        probe.on("close", () => resolve(text));
      });
      probe.write("connection: close\r\n\r\n");
      const response = await answer;
      assert.match(response, /^HTTP\/1\.1 503 /);
      assert.match(response, /"status":"NOT_SERVING"/);

      // New connections are refused: a probe that connects now fails too.
      const late = await restRequest(srv, "GET", "/healthz");
      assert.equal(late.status, 0, "a new connection during shutdown got an answer");
    } finally {
      probe.destroy();
      grpcJs.close();
      await held.cancel();
      await closed;
    }
  });
});
