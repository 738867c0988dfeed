/**
 * A client that resets its connection (TCP RST) at any point before it has
 * said anything useful must not stop the server: before its first byte,
 * after half an HTTP/2 preface or half a request line, in the middle of
 * the TLS handshake, after it. The server runs as the CLI, in its own
 * process, so a crash shows as an exit, not as an error in the test runner.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import tls from "node:tls";
import { type CliServer, makeCertificate, makeTempDir, startCli } from "../support/index.js";
import { assertServing, rawSocket } from "./support.js";

/** How each case starts before the reset, given a connected socket. */
interface ResetCase {
  name: string;
  /** Which servers it applies to. */
  over: ("cleartext" | "tls")[];
  /** Sends what comes before the reset; resolves when it is time to reset. */
  prelude(url: string, ca: string | undefined): Promise<net.Socket>;
}

/** Opens a TCP connection to url's port (no TLS, whatever the scheme). */
function tcpTo(url: string): Promise<net.Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    socket.once("connect", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** The first bytes of a TLS ClientHello record: a handshake the server starts reading. */
const partialClientHello = Buffer.from("16030100c8010000c40303", "hex");

/** A whole ClientHello as Node's TLS client sends it, captured once by captureClientHello. */
let clientHello: Buffer = Buffer.alloc(0);

/** Captures the first flight of a TLS client (its ClientHello) on a local TCP server. */
function captureClientHello(): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => {
      socket.once("data", (data: Buffer) => {
        resolve(data);
        socket.destroy();
        server.close();
      });
    });
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      const client = tls.connect({ host: "127.0.0.1", port, ALPNProtocols: ["h2"] });
      client.on("error", () => {});
    });
    server.on("error", reject);
  });
}

const cases: ResetCase[] = [
  {
    name: "before its first byte",
    over: ["cleartext", "tls"],
    prelude: (url) => tcpTo(url),
  },
  {
    name: "after half an HTTP/2 preface",
    over: ["cleartext"],
    async prelude(url) {
      const socket = await tcpTo(url);
      socket.write("PRI * HTTP/2.0\r\n");
      return socket;
    },
  },
  {
    name: "after half a request line",
    over: ["cleartext"],
    async prelude(url) {
      const socket = await tcpTo(url);
      socket.write("GET /hea");
      return socket;
    },
  },
  {
    name: "after part of a TLS ClientHello",
    over: ["tls"],
    async prelude(url) {
      const socket = await tcpTo(url);
      socket.write(partialClientHello);
      return socket;
    },
  },
  {
    name: "in the middle of the TLS handshake (after the server's first reply)",
    over: ["tls"],
    async prelude(url) {
      const socket = await tcpTo(url);
      socket.write(clientHello);
      // The server has read the ClientHello and answered: reset now.
      await new Promise((resolve) => socket.once("data", resolve));
      return socket;
    },
  },
  {
    name: "after the TLS handshake and half an HTTP/2 preface",
    over: ["tls"],
    async prelude(url, ca) {
      const raw = await rawSocket(url, { ca, alpn: ["h2"] });
      raw.write("PRI * HTTP/2.0\r\n");
      return raw.tcp;
    },
  },
  {
    name: "after the TLS handshake and half a request line",
    over: ["tls"],
    async prelude(url, ca) {
      const raw = await rawSocket(url, { ca, alpn: ["http/1.1"] });
      raw.write("GET /hea");
      return raw.tcp;
    },
  },
];

/** How many times each case runs: a crash may depend on when the RST lands. */
const repeats = 5;

describe("a connection reset before the client said anything", () => {
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  const servers: Partial<Record<"cleartext" | "tls", CliServer>> = {};
  before(async () => {
    clientHello = await captureClientHello();
    dir = await makeTempDir();
    const cert = await makeCertificate(dir.path);
    servers.cleartext = await startCli(["--log-level", "warn"]);
    servers.tls = await startCli(
      ["--log-level", "warn", "--tls-cert", cert.certPath, "--tls-key", cert.keyPath],
      { ca: cert.cert },
    );
  });
  after(async () => {
    await Promise.all([servers.cleartext?.stop(), servers.tls?.stop()]);
    await dir.remove();
  });

  for (const over of ["cleartext", "tls"] as const) {
    for (const resetCase of cases.filter((c) => c.over.includes(over))) {
      it(`${over}: the server survives a reset ${resetCase.name}`, async () => {
        const cli = servers[over] as CliServer;
        for (let i = 0; i < repeats; i++) {
          const socket = await resetCase.prelude(cli.url, cli.ca);
          socket.on("error", () => {});
          const closed = new Promise((resolve) => socket.once("close", resolve));
          socket.resetAndDestroy();
          await closed;
        }
        // The process still runs and serves a new connection.
        try {
          await assertServing(cli);
        } catch (err) {
          assert.fail(
            `the server stopped serving (${(err as Error).message}; exit code ${cli.child.exitCode}): ${cli.stderr().slice(-600)}`,
          );
        }
        assert.equal(cli.child.exitCode, null, `the server exited: ${cli.stderr()}`);
        assert.doesNotMatch(cli.stderr(), /ECONNRESET|uncaught|unhandled/i);
      });
    }
  }
});
