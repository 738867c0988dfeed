/**
 * A real server in this process on a free port of 127.0.0.1, the waits the
 * tests share, and temporary folders.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type ModelMoraServer, type ServerOptions } from "../../src/index.js";

/** The repository root, with a trailing slash: subprocesses run there. */
export const repoRoot = new URL("../..", import.meta.url).pathname;

/** A server listening on a free port of 127.0.0.1. */
export interface TestServer {
  readonly server: ModelMoraServer;
  /** For example "http://127.0.0.1:40123" (https with the tls option). */
  readonly url: string;
  readonly port: number;
  /** Waits for every client connection to go, then closes the server. */
  close(): Promise<void>;
}

/** Starts a server on port 0 with the given options. */
export async function startServer(options: ServerOptions = {}): Promise<TestServer> {
  const server = createServer(options);
  const { url, port } = await server.listen(0, "127.0.0.1");
  return {
    server,
    url,
    port,
    async close() {
      await waitForNoConnections(server);
      await server.close(1000);
    },
  };
}

/**
 * Polls until predicate holds, for waiting FOR something to happen. The
 * limit (default 20 s) only keeps a broken test from hanging; nothing here
 * asserts how fast the server is.
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  /** What is awaited, for the failure message; a function is asked only then. */
  what: string | (() => string),
  limitMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) {
      assert.fail(
        `gave up waiting for ${typeof what === "string" ? what : what()} after ${limitMs} ms`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Resolves with what promise resolves to, or fails the test after limitMs
 * (default 30 s). The limit only keeps a broken test from hanging.
 */
export async function within<T>(promise: Promise<T>, what: string, limitMs = 30_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`gave up waiting for ${what}`)), limitMs);
  });
  try {
    return await Promise.race([promise, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until the server has no open connection: nothing leaked. */
export function waitForNoConnections(server: ModelMoraServer): Promise<void> {
  return waitFor(
    () => server.connectionCount === 0,
    `connectionCount to reach 0 (it is ${server.connectionCount})`,
  );
}

/** Waits until the server has no call in flight. */
export function waitForNoCalls(server: ModelMoraServer): Promise<void> {
  return waitFor(
    () => server.activeCallCount === 0,
    `activeCallCount to reach 0 (it is ${server.activeCallCount})`,
  );
}

/** A temporary folder, removed by remove(). */
export interface TempDir {
  readonly path: string;
  remove(): Promise<void>;
}

/** Makes a temporary folder named modelmora-test-…. */
export async function makeTempDir(): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), "modelmora-test-"));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}
