/**
 * HTTPS with ALPN: the CLI with `--tls-cert` and `--tls-key` serves one
 * port that negotiates h2 or http/1.1, and every protocol works over it,
 * from the project's client, grpc-js and curl. The certificate is made with
 * openssl when the test runs.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import tls from "node:tls";
import * as grpc from "@grpc/grpc-js";
import {
  assertCode,
  type Certificate,
  type CliServer,
  callListModels,
  callStream,
  createGrpcJsClient,
  curl,
  everyProtocolCase,
  inspectPng,
  makeCertificate,
  makeTempDir,
  multipartOf,
  type RawResponse,
  reassemble,
  smallRequest,
  startCli,
  streamGrpcJs,
  type TempDir,
} from "../support/index.js";

/** The protocol ALPN settles on when the client offers protocols. */
function negotiate(url: string, ca: string, protocols: string[]): Promise<string | false> {
  return new Promise((resolve, reject) => {
    const port = Number(new URL(url).port);
    const socket = tls.connect({ host: "127.0.0.1", port, ca, ALPNProtocols: protocols }, () => {
      resolve(socket.alpnProtocol ?? false);
      socket.destroy();
    });
    socket.on("error", reject);
  });
}

describe("TLS with --tls-cert and --tls-key", () => {
  let dir: TempDir;
  let certificate: Certificate;
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
    assert.deepEqual(exit, { code: 0, signal: null }, "the CLI exits 0 on SIGTERM");
  });

  it("announces an https URL", () => {
    assert.match(cli.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it("negotiates h2 and http/1.1 by ALPN", async () => {
    assert.equal(await negotiate(cli.url, certificate.cert, ["h2", "http/1.1"]), "h2");
    assert.equal(await negotiate(cli.url, certificate.cert, ["http/1.1"]), "http/1.1");
  });

  for (const protocolCase of everyProtocolCase) {
    it(`${protocolCase.name}: StreamInference and ListModels over HTTPS`, async () => {
      const outcome = await callStream(cli, protocolCase, smallRequest);
      assertCode(outcome, undefined);
      const pngs =
        protocolCase.protocol === "rest"
          ? multipartOf(outcome.response as RawResponse).map((part) => part.body)
          : reassemble(outcome.chunks).map((image) => image.png);
      assert.equal(pngs.length, 2);
      for (const png of pngs) {
        assert.equal(inspectPng(png).widthPx, 64);
      }
      assertCode(await callListModels(cli, protocolCase), undefined, "ListModels");
    });
  }

  it("serves grpc-js with TLS credentials and the proof of concept's proto", async () => {
    const client = createGrpcJsClient(
      cli.url.replace("https://127.0.0.1", "localhost"),
      grpc.credentials.createSsl(Buffer.from(certificate.cert)),
    );
    try {
      const chunks = await streamGrpcJs(client, {
        model_id: "thumb-64",
        prompt: "tls grpc-js",
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
    it(`curl ${flag} gets HTTP/${version} by ALPN, trusting the certificate or with -k`, async () => {
      const trusted = await curl([
        "--cacert",
        certificate.certPath,
        flag,
        "-o",
        "/dev/null",
        "-w",
        "%{http_version} %{http_code}",
        `${cli.url}/healthz`,
      ]);
      assert.equal(trusted.stdout.toString("utf8"), `${version} 200`);
      const models = await curl(["--cacert", certificate.certPath, flag, `${cli.url}/v1/models`]);
      assert.equal(JSON.parse(models.stdout.toString("utf8")).models.length, 9);
      // -k, as a quick manual check would, gives the same.
      const health = await curl(["-k", flag, `${cli.url}/healthz`]);
      assert.equal(JSON.parse(health.stdout.toString("utf8")).status, "SERVING");
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
        `${cli.url}/infer/stream`,
      ]);
      assert.equal(png.stdout.toString("utf8"), version);
    });
  }

  it("refuses a client that does not trust the certificate", async () => {
    const result = await curl(["-o", "/dev/null", `${cli.url}/healthz`], true);
    assert.notEqual(result.code, 0, "curl without the CA must fail the TLS handshake");
  });
});
