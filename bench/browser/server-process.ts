/**
 * The servers the browser bench starts besides the server under test: a
 * copy of it over TLS, on a self-signed certificate for localhost and
 * 127.0.0.1 made with openssl for the run (browsers speak HTTP/2 only over
 * TLS), and for run-browser.ts a cleartext one (browsers then use
 * HTTP/1.1). Each is spawned as the server under test is
 * (targets/open-target.ts `spawnServer`), and its stop() also removes the
 * certificate.
 *
 * Library module of the browser bench; its children inherit the
 * environment (MODELMORA_* settings reach the server), with
 * MODELMORA_LOG_LEVEL `warn` unless set.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { ListeningProcess } from "../targets/listening-process.js";
import { spawnServer } from "../targets/open-target.js";

/** Options for startServerProcess. */
export interface ServerProcessOptions {
  /** Serve HTTPS (h2 and http/1.1 by ALPN) on a certificate made for the run. */
  readonly tls: boolean;
  /** More flags for the server (the bench's pass-through flags). */
  readonly args?: readonly string[];
}

/** Starts a server; resolves once it listens. */
export async function startServerProcess(options: ServerProcessOptions): Promise<ListeningProcess> {
  const args = [...(options.args ?? [])];
  let dir: string | undefined;
  if (options.tls) {
    dir = await mkdtemp(join(tmpdir(), "modelmora-browser-bench-"));
    const cert = join(dir, "cert.pem");
    const key = join(dir, "key.pem");
    await promisify(execFile)("openssl", [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-subj",
      "/CN=localhost",
      "-days",
      "1",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
    ]);
    args.unshift("--tls-cert", cert, "--tls-key", key);
  }
  const removeCertificate = async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  };
  let server: ListeningProcess;
  try {
    server = await spawnServer(args, {
      name: options.tls ? "modelmora server (TLS, for the browser)" : "modelmora server",
      env: { ...process.env, MODELMORA_LOG_LEVEL: process.env.MODELMORA_LOG_LEVEL ?? "warn" },
    });
  } catch (err) {
    await removeCertificate();
    throw err;
  }
  return {
    ...server,
    async stop(graceMs) {
      try {
        await server.stop(graceMs);
      } finally {
        await removeCertificate();
      }
    },
  };
}
