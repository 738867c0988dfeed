/**
 * HTTPS with ALPN: one port negotiates h2 or http/1.1, and every protocol
 * works over it. The certificate is made with openssl when the test runs.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import tls from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { createInferenceClient } from "../src/client/index.js";
import { clientCases } from "./clients.js";
import { collect, curl, inspectPng, reassemble, startServer, type TestServer } from "./helpers.js";
import { makeCertificate } from "./production-support.js";
import { createSeedClient, streamSeed } from "./seed-client.js";

/** The protocol ALPN settles on when the client offers protocols. */
function negotiate(port: number, ca: Buffer, protocols: string[]): Promise<string | false> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, ca, ALPNProtocols: protocols }, () => {
      resolve(socket.alpnProtocol ?? false);
      socket.destroy();
    });
    socket.on("error", reject);
  });
}

describe("TLS with ALPN", () => {
  let dir: string;
  let certPath: string;
  let cert: Buffer;
  let srv: TestServer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "modelmora-tls-"));
    certPath = join(dir, "cert.pem");
    const made = await makeCertificate(dir);
    cert = Buffer.from(made.cert);
    srv = await startServer({ tls: { cert, key: await readFile(made.keyPath) } });
  });
  after(async () => {
    await srv?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("listens on an https URL", () => {
    assert.match(srv.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it("negotiates h2 and http/1.1 by ALPN", async () => {
    assert.equal(await negotiate(srv.port, cert, ["h2", "http/1.1"]), "h2");
    assert.equal(await negotiate(srv.port, cert, ["http/1.1"]), "http/1.1");
  });

  for (const clientCase of clientCases) {
    it(`serves ${clientCase.name} over TLS`, async () => {
      const inference = createInferenceClient({
        baseUrl: srv.url,
        protocol: clientCase.protocol,
        httpVersion: clientCase.httpVersion,
        tls: { ca: cert },
      });
      try {
        const models = await inference.client.listModels({});
        assert.equal(models.models.length, 9);
        const images = reassemble(
          await collect(
            inference.client.streamInference({ modelId: "thumb-64", prompt: "tls", batchSize: 2 }),
          ),
        );
        assert.equal(images.length, 2);
        inspectPng(images[0]?.png as Buffer);
      } finally {
        inference.close();
      }
    });
  }

  it("serves grpc-js with TLS credentials and the seed's proto", async () => {
    const client = createSeedClient(`127.0.0.1:${srv.port}`, grpc.credentials.createSsl(cert));
    try {
      const chunks = await streamSeed(client, {
        model_id: "thumb-64",
        prompt: "tls",
        batch_size: 2,
      });
      assert.equal(reassemble(chunks).length, 2);
    } finally {
      client.close();
    }
  });

  for (const [flag, version] of [
    ["--http1.1", "1.1"],
    ["--http2", "2"],
  ] as const) {
    it(`serves REST to curl -k ${flag} (HTTP/${version} by ALPN)`, async () => {
      const png = await curl([
        "-k",
        flag,
        "-w",
        "%{http_version}",
        "-o",
        "/dev/null",
        "-H",
        "content-type: application/json",
        "-d",
        '{"model_id":"thumb-64","prompt":"tls","batch_size":1}',
        `${srv.url}/infer/stream`,
      ]);
      assert.equal(png.stdout.toString("utf8"), version);
      const health = await curl(["-k", flag, `${srv.url}/healthz`]);
      assert.equal(JSON.parse(health.stdout.toString("utf8")).status, "SERVING");
      // And with the certificate trusted instead of -k.
      const models = await curl(["--cacert", certPath, flag, `${srv.url}/v1/models`]);
      assert.equal(JSON.parse(models.stdout.toString("utf8")).models.length, 9);
    });
  }
});
