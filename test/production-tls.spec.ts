/**
 * Issue 5, item 1: `--tls-cert` and `--tls-key` serve HTTPS on the one
 * port, h2 and http/1.1 chosen by ALPN, and every protocol keeps working.
 * The certificate is made with openssl when the test runs.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { boundaryOf, curl, inspectPng, parseMultipart, reassemble } from "./helpers.js";
import {
  assertCode,
  type CliServer,
  callListModels,
  callStream,
  makeCertificate,
  makeTempDir,
  protocolCases,
  restRequest,
  smallRequest,
  startCli,
} from "./production-support.js";
import { createSeedClient, streamSeed } from "./seed-client.js";

describe("TLS with --tls-cert and --tls-key", () => {
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  let certificate: Awaited<ReturnType<typeof makeCertificate>>;
  let cli: CliServer;

  before(async () => {
    dir = await makeTempDir();
    certificate = await makeCertificate(dir.path);
    cli = await startCli(["--tls-cert", certificate.certPath, "--tls-key", certificate.keyPath], {
      ca: certificate.cert,
    });
  });
  after(async () => {
    const exit = await cli?.stop();
    await dir?.remove();
    assert.equal(exit?.code, 0, "the CLI exits 0 on SIGTERM");
  });

  it("announces an https URL", () => {
    assert.match(cli.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  });

  for (const protocolCase of protocolCases) {
    it(`${protocolCase.name}: StreamInference and ListModels over HTTPS`, async () => {
      if (protocolCase.protocol === "rest") {
        const response = await restRequest(cli, "POST", "/infer/stream", {
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model_id: "thumb-64", prompt: "tls", batch_size: 2 }),
        });
        assert.equal(response.status, 200);
        const parts = parseMultipart(
          response.body,
          boundaryOf(String(response.headers["content-type"])),
        );
        assert.equal(parts.length, 2);
        for (const part of parts) {
          assert.equal(inspectPng(part.body).widthPx, 64);
        }
      } else {
        const outcome = await callStream(cli, protocolCase, smallRequest);
        assertCode(outcome, undefined);
        const images = reassemble(outcome.chunks);
        assert.equal(images.length, 2);
        for (const image of images) {
          assert.equal(inspectPng(image.png).widthPx, 64);
        }
      }
      assertCode(await callListModels(cli, protocolCase), undefined, "ListModels");
    });
  }

  it("serves grpc-web, connect and connect-json over h2 too", async () => {
    for (const protocol of ["grpc-web", "connect", "connect-json"] as const) {
      const outcome = await callStream(
        cli,
        { name: protocol, protocol, httpVersion: "2" },
        smallRequest,
      );
      assertCode(outcome, undefined, protocol);
      assert.equal(reassemble(outcome.chunks).length, 2);
    }
  });

  it("serves grpc-js with TLS credentials", async () => {
    const client = createSeedClient(
      cli.url.replace("https://127.0.0.1", "localhost"),
      grpc.credentials.createSsl(Buffer.from(certificate.cert)),
    );
    try {
      const chunks = await streamSeed(client, {
        model_id: "thumb-64",
        prompt: "tls grpc-js",
        batch_size: 2,
      });
      assert.equal(reassemble(chunks).length, 2);
    } finally {
      client.close();
    }
  });

  for (const [flag, expected] of [
    ["--http1.1", "1.1"],
    ["--http2", "2"],
  ] as const) {
    it(`negotiates HTTP/${expected} by ALPN (curl ${flag})`, async () => {
      const result = await curl([
        "--cacert",
        certificate.certPath,
        flag,
        "-o",
        "/dev/null",
        "-w",
        "%{http_version} %{http_code}",
        `${cli.url}/healthz`,
      ]);
      assert.equal(result.stdout.toString("utf8"), `${expected} 200`);
      // -k, as a quick manual check would, gives the same.
      const insecure = await curl([
        "-k",
        flag,
        "-o",
        "/dev/null",
        "-w",
        "%{http_version}",
        `${cli.url}/healthz`,
      ]);
      assert.equal(insecure.stdout.toString("utf8"), expected);
    });
  }

  it("refuses a client that does not trust the certificate", async () => {
    const result = await curl(["-o", "/dev/null", `${cli.url}/healthz`], true);
    assert.notEqual(result.code, 0, "curl without the CA must fail the TLS handshake");
  });
});
