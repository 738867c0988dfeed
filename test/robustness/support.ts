/**
 * Helpers of the robustness tests: a server with the hardening options,
 * /metrics read over HTTP, waits on sockets and gauges, and raw HTTP/1.1
 * sockets.
 */
import assert from "node:assert/strict";
import http from "node:http";
import https from "node:https";
import type net from "node:net";
import { connect as netConnect } from "node:net";
import { Writable } from "node:stream";
import { createServerLogger, type ServerLogger } from "../../src/observability/index.js";
import { parseSamples, type Sample, sumOf } from "../support/index.js";
import { defaultWaitLimitMs, openSocket } from "./h2/index.js";

export { defaultWaitLimitMs };

/** A server to call: its URL and, for HTTPS, the CA of its certificate. */
export type Target = string | { url: string; ca?: string };

function get(target: Target, path: string, onResponse: (res: http.IncomingMessage) => void) {
  const { url, ca } = typeof target === "string" ? { url: target, ca: undefined } : target;
  const full = new URL(path, url);
  return full.protocol === "https:"
    ? https.get(full, { agent: false, ca }, onResponse)
    : http.get(full, { agent: false }, onResponse);
}

/** GET /metrics over HTTP/1.1, parsed. */
export function scrape(target: Target): Promise<Sample[]> {
  return new Promise((resolve, reject) => {
    const req = get(target, "/metrics", (res) => {
      const parts: Buffer[] = [];
      res.on("data", (part: Buffer) => parts.push(part));
      res.on("error", reject);
      res.on("end", () => {
        if (res.statusCode !== 200) {
          reject(new Error(`GET /metrics answered ${res.statusCode}`));
          return;
        }
        resolve(parseSamples(Buffer.concat(parts).toString("utf8")));
      });
    });
    req.on("error", reject);
  });
}

/** The value of one metric (summed over the series whose labels include labels). */
export async function metricValue(
  url: Target,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  return sumOf(await scrape(url), name, labels);
}

/** Whether a metric has any series at all. */
export function hasMetric(samples: readonly Sample[], name: string): boolean {
  return samples.some((sample) => sample.name === name);
}

/**
 * Waits for a socket's close event. Fails (and destroys the socket) when it
 * is still open after limitMs: that is the finding "stays open
 * indefinitely".
 */
export function waitForSocketClose(
  socket: net.Socket,
  what: string,
  limitMs = defaultWaitLimitMs,
): Promise<void> {
  if (socket.closed) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${what}: the server left the connection open for ${limitMs} ms`));
    }, limitMs);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** A plain TCP connection to url's port, with no TLS whatever the scheme; errors ignored. */
export function openSocketTo(url: string): Promise<net.Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: hostname, port: Number(port) });
    socket.once("connect", () => {
      socket.off("error", reject);
      socket.on("error", () => {});
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/** A raw socket that records every byte the server sends. */
export interface RawSocket {
  readonly socket: net.Socket;
  /** The TCP socket under it (itself without TLS), which can send an RST. */
  readonly tcp: net.Socket;
  /** Everything received so far, as latin1 text. */
  received(): string;
  /** Writes bytes or latin1 text. */
  write(data: string | Uint8Array): void;
}

/** Opens a raw socket: TCP for http URLs, TLS (ALPN as given, http/1.1 by default) for https. */
export async function rawSocket(
  url: string,
  options: { ca?: string; alpn?: string[] } = {},
): Promise<RawSocket> {
  const { socket, tcp } = await openSocket(url, {
    ca: options.ca,
    alpn: options.alpn ?? ["http/1.1"],
  });
  return wrapSocket(socket, tcp);
}

/** Records what arrives on an open socket; see RawSocket. */
function wrapSocket(socket: net.Socket, tcp: net.Socket = socket): RawSocket {
  const parts: Buffer[] = [];
  socket.on("data", (part: Buffer) => parts.push(part));
  socket.on("error", () => {});
  tcp.on("error", () => {});
  return {
    socket,
    tcp,
    received: () => Buffer.concat(parts).toString("latin1"),
    write(data) {
      if (!socket.destroyed)
        socket.write(typeof data === "string" ? Buffer.from(data, "latin1") : data);
    },
  };
}

/** The status code of the first HTTP/1.1 response in text, or undefined. */
export function http1Status(text: string): number | undefined {
  const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
  return match === null ? undefined : Number(match[1]);
}

/** Connections the server closed, by reason, from modelmora_connections_closed_total. */
export async function connectionsClosed(url: Target, reason: string): Promise<number> {
  return metricValue(url, "modelmora_connections_closed_total", { reason });
}

/** A good request after bad ones: GET /healthz answers 200 SERVING. */
export async function assertServing(url: Target): Promise<void> {
  const body = await new Promise<string>((resolve, reject) => {
    const req = get(url, "/healthz", (res) => {
      const parts: Buffer[] = [];
      res.on("data", (part: Buffer) => parts.push(part));
      res.on("end", () => resolve(`${res.statusCode} ${Buffer.concat(parts).toString("utf8")}`));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
  assert.match(body, /^200 .*"status":"SERVING"/);
}

/** One JSON log line of the server. */
export type LogLine = Record<string, unknown> & { level: string; msg: string };

/** A logger that keeps its lines, for tests that read what the server logged. */
export function captureLogs(): { logger: ServerLogger; lines(): LogLine[]; calls(): LogLine[] } {
  let text = "";
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString("utf8");
      done();
    },
  });
  const lines = () =>
    text
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as LogLine);
  return {
    logger: createServerLogger({ level: "debug", destination }),
    lines,
    calls: () => lines().filter((line) => line.msg === "call"),
  };
}
