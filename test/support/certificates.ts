/** A self-signed certificate made with openssl when a test runs. */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { run } from "./processes.js";

/** A certificate and its key, as files in a folder and as PEM text. */
export interface Certificate {
  readonly certPath: string;
  readonly keyPath: string;
  /** The certificate in PEM: a client's CA, since it signs itself. */
  readonly cert: string;
  /** The private key in PEM. */
  readonly key: string;
}

/** Makes an RSA 2048 certificate for localhost and 127.0.0.1, valid one day, in dir. */
export async function makeCertificate(dir: string): Promise<Certificate> {
  const certPath = join(dir, "cert.pem");
  const keyPath = join(dir, "key.pem");
  const result = await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    keyPath,
    "-out",
    certPath,
    "-subj",
    "/CN=localhost",
    "-days",
    "1",
    "-addext",
    "subjectAltName=DNS:localhost,IP:127.0.0.1",
  ]);
  assert.equal(result.code, 0, `openssl failed: ${result.stderr}`);
  return {
    certPath,
    keyPath,
    cert: await readFile(certPath, "utf8"),
    key: await readFile(keyPath, "utf8"),
  };
}
