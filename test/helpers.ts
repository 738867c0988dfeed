/**
 * Shared test helpers: a real server on port 0, reassembly of streamed
 * images, PNG checks, and subprocess runners for curl, the CLI and Python.
 */
// First: protobuf-es reads the base64 methods when it loads.
import "../src/base64-polyfill.js";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import { Code, ConnectError } from "@connectrpc/connect";
import type { InferenceResponse } from "../src/gen/modelmora/inference_pb.js";
import { createServer, type ModelMoraServer, type ServerOptions } from "../src/server/index.js";

/** The repository root: subprocesses run there. */
export const repoRoot = new URL("..", import.meta.url).pathname;

/** A server listening on a free port of 127.0.0.1. */
export interface TestServer {
  readonly server: ModelMoraServer;
  /** For example "http://127.0.0.1:40123". */
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
 * Polls until predicate holds. The limit only keeps a broken test from
 * hanging; nothing here asserts how fast the server is.
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  what: string,
  limitMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) {
      assert.fail(`gave up waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Waits until the server has no open connection: nothing leaked. */
export function waitForNoConnections(server: ModelMoraServer): Promise<void> {
  return waitFor(
    () => server.connectionCount === 0,
    `connectionCount to reach 0 (it is ${server.connectionCount})`,
  );
}

/** One image rebuilt from the chunks of a stream. */
export interface ReassembledImage {
  readonly index: number;
  readonly png: Buffer;
  /** Hex SHA-256 of png, computed here. */
  readonly sha256: string;
  /** The metadata of the image's first chunk. */
  readonly metadata: Readonly<Record<string, string>>;
  readonly chunkCount: number;
}

/** The fields of an InferenceResponse, as any client decodes them. */
export interface ChunkLike {
  requestId: string;
  chunkIndex: number;
  totalChunks: number;
  data: Uint8Array;
  metadata: Record<string, string>;
}

/**
 * Rebuilds the images of a stream from its chunks, using the metadata as a
 * client must: image_index says which image, chunk_offset where the bytes
 * go. Checks along the way that the chunks are consistent: one request id,
 * chunk_index counting 0..total_chunks-1 per image, offsets without gaps,
 * the same facts in every chunk of an image, and a SHA-256 that matches.
 */
export function reassemble(chunks: readonly ChunkLike[]): ReassembledImage[] {
  assert.ok(chunks.length > 0, "the stream had no chunks");
  const requestId = chunks[0]?.requestId;
  assert.ok(requestId, "request_id is empty");
  const byImage = new Map<number, ChunkLike[]>();
  for (const chunk of chunks) {
    assert.equal(chunk.requestId, requestId, "request_id changed within the stream");
    const index = Number(chunk.metadata.image_index);
    assert.ok(Number.isInteger(index), `bad image_index ${chunk.metadata.image_index}`);
    const list = byImage.get(index) ?? [];
    list.push(chunk);
    byImage.set(index, list);
  }
  const images: ReassembledImage[] = [];
  for (const [index, list] of [...byImage].sort((a, b) => a[0] - b[0])) {
    const first = list[0] as ChunkLike;
    const size = Number(first.metadata.image_bytes);
    const png = Buffer.alloc(size);
    let expectedOffset = 0;
    list.forEach((chunk, i) => {
      assert.equal(chunk.chunkIndex, i, `image ${index}: chunk_index out of order`);
      assert.equal(chunk.totalChunks, list.length, `image ${index}: total_chunks`);
      const offset = Number(chunk.metadata.chunk_offset);
      assert.equal(offset, expectedOffset, `image ${index}: chunk_offset leaves a gap`);
      for (const key of ["image_bytes", "image_sha256", "width", "height", "content_type"]) {
        assert.equal(chunk.metadata[key], first.metadata[key], `image ${index}: ${key} changed`);
      }
      png.set(chunk.data, offset);
      expectedOffset += chunk.data.byteLength;
    });
    assert.equal(expectedOffset, size, `image ${index}: chunks do not add up to image_bytes`);
    const sha256 = sha256Hex(png);
    assert.equal(sha256, first.metadata.image_sha256, `image ${index}: image_sha256`);
    images.push({ index, png, sha256, metadata: first.metadata, chunkCount: list.length });
  }
  return images;
}

/** Collects a server stream. */
export async function collect(stream: AsyncIterable<InferenceResponse>): Promise<ChunkLike[]> {
  const chunks: ChunkLike[] = [];
  for await (const chunk of stream) {
    chunks.push(chunk);
  }
  return chunks;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Facts read from a PNG file whose chunks and pixel data were all checked. */
export interface PngInfo {
  widthPx: number;
  heightPx: number;
  colorType: number;
}

const pngSignature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Checks that png is a whole, valid PNG file: signature, chunk CRCs, IHDR,
 * IEND last, and IDAT data that inflates to exactly the rows IHDR promises.
 */
export function inspectPng(png: Uint8Array): PngInfo {
  const buf = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  assert.ok(buf.subarray(0, 8).equals(pngSignature), "not a PNG: bad signature");
  let offset = 8;
  let info: (PngInfo & { bitDepth: number }) | undefined;
  const idat: Buffer[] = [];
  let ended = false;
  while (offset < buf.length) {
    assert.ok(!ended, "PNG has bytes after IEND");
    const length = buf.readUInt32BE(offset);
    const type = buf.toString("latin1", offset + 4, offset + 8);
    const body = buf.subarray(offset + 8, offset + 8 + length);
    const crc = buf.readUInt32BE(offset + 8 + length);
    assert.equal(crc32(buf.subarray(offset + 4, offset + 8 + length)), crc, `PNG ${type}: bad CRC`);
    if (type === "IHDR") {
      info = {
        widthPx: body.readUInt32BE(0),
        heightPx: body.readUInt32BE(4),
        bitDepth: body[8] as number,
        colorType: body[9] as number,
      };
    } else if (type === "IDAT") {
      idat.push(body);
    } else if (type === "IEND") {
      ended = true;
    }
    offset += 12 + length;
  }
  assert.ok(ended, "PNG has no IEND: truncated");
  assert.ok(info, "PNG has no IHDR");
  assert.equal(info.bitDepth, 8, "PNG bit depth");
  const channels = ({ 0: 1, 2: 3, 4: 2, 6: 4 } as Record<number, number>)[info.colorType];
  assert.ok(channels, `PNG color type ${info.colorType}`);
  const pixels = inflateSync(Buffer.concat(idat));
  assert.equal(pixels.length, info.heightPx * (1 + info.widthPx * channels), "PNG pixel data size");
  return { widthPx: info.widthPx, heightPx: info.heightPx, colorType: info.colorType };
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) {
    c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return c >>> 0;
});

function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) {
    c = (crcTable[(c ^ byte) & 0xff] as number) ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** Asserts that promise rejects with a ConnectError of the given code. */
export async function assertConnectError(
  promise: Promise<unknown>,
  code: Code,
  messagePattern?: RegExp,
): Promise<ConnectError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught !== undefined, `expected ${Code[code]}, the call succeeded`);
  const error = ConnectError.from(caught);
  assert.equal(Code[error.code], Code[code], `wrong code: ${error.message}`);
  if (messagePattern) {
    assert.match(error.rawMessage, messagePattern);
  }
  return error;
}

/** What a finished subprocess left. */
export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs a command to its end. Never throws for a non-zero exit. */
export function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; input?: Uint8Array | string; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? repoRoot,
      env: options.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (data: Buffer) => out.push(data));
    child.stderr.on("data", (data: Buffer) => err.push(data));
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err).toString("utf8"),
      }),
    );
    child.stdin.end(options.input);
  });
}

/** Runs curl with -sS; asserts it exits 0 unless allowFailure. */
export async function curl(args: readonly string[], allowFailure = false): Promise<RunResult> {
  const result = await run("curl", ["-sS", ...args]);
  if (!allowFailure) {
    assert.equal(result.code, 0, `curl ${args.join(" ")} failed: ${result.stderr}`);
  }
  return result;
}

/**
 * A Connect or gRPC message envelope: flags byte, big-endian uint32 length,
 * then the message.
 */
export function envelope(message: Uint8Array | string, flags = 0): Buffer {
  const body = typeof message === "string" ? Buffer.from(message, "utf8") : Buffer.from(message);
  const head = Buffer.alloc(5);
  head.writeUInt8(flags, 0);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** Splits a body into envelopes; fails on a truncated one. */
export function parseEnvelopes(body: Buffer): { flags: number; data: Buffer }[] {
  const envelopes: { flags: number; data: Buffer }[] = [];
  let offset = 0;
  while (offset < body.length) {
    assert.ok(offset + 5 <= body.length, "truncated envelope header");
    const flags = body.readUInt8(offset);
    const length = body.readUInt32BE(offset + 1);
    assert.ok(offset + 5 + length <= body.length, "truncated envelope");
    envelopes.push({ flags, data: body.subarray(offset + 5, offset + 5 + length) });
    offset += 5 + length;
  }
  return envelopes;
}

/** One part of a multipart/mixed body. */
export interface MultipartPart {
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Parses a multipart/mixed body as RFC 2046 defines it, using each part's
 * content-length (which the server sends) and checking the delimiters.
 */
export function parseMultipart(body: Buffer, boundary: string): MultipartPart[] {
  const parts: MultipartPart[] = [];
  const delimiter = `--${boundary}`;
  let offset = 0;
  for (;;) {
    const line = body.toString("latin1", offset, offset + delimiter.length + 2);
    if (line === `${delimiter}--`) {
      break;
    }
    assert.equal(line, `${delimiter}\r\n`, `multipart: expected a delimiter at ${offset}`);
    offset += line.length;
    const headerEnd = body.indexOf("\r\n\r\n", offset, "latin1");
    assert.ok(headerEnd > 0, "multipart: part headers do not end");
    const headers: Record<string, string> = {};
    for (const headerLine of body.toString("latin1", offset, headerEnd).split("\r\n")) {
      const colon = headerLine.indexOf(":");
      headers[headerLine.slice(0, colon).trim().toLowerCase()] = headerLine.slice(colon + 1).trim();
    }
    offset = headerEnd + 4;
    const length = Number(headers["content-length"]);
    assert.ok(Number.isInteger(length), "multipart: part without content-length");
    parts.push({ headers, body: body.subarray(offset, offset + length) });
    offset += length;
    assert.equal(body.toString("latin1", offset, offset + 2), "\r\n", "multipart: part end");
    offset += 2;
  }
  return parts;
}

/** The boundary parameter of a multipart content-type. */
export function boundaryOf(contentType: string): string {
  const match = /boundary=("?)([^";]+)\1/.exec(contentType);
  assert.ok(match, `no boundary in ${contentType}`);
  return match[2] as string;
}

/** An InferenceResponse in proto JSON, as Connect JSON sends it. */
interface InferenceResponseJson {
  requestId?: string;
  chunkIndex?: number;
  totalChunks?: number;
  data?: string;
  metadata?: Record<string, string>;
}

/** Turns proto JSON InferenceResponse messages (zero values omitted) into chunks. */
export function chunkFromJson(json: InferenceResponseJson): ChunkLike {
  return {
    requestId: json.requestId ?? "",
    chunkIndex: json.chunkIndex ?? 0,
    totalChunks: json.totalChunks ?? 0,
    data: Buffer.from(json.data ?? "", "base64"),
    metadata: json.metadata ?? {},
  };
}

/**
 * Calls StreamInference with curl over the Connect protocol with JSON:
 * an enveloped JSON request body, enveloped JSON messages back, and an
 * end-of-stream envelope (flag 2) last.
 */
export async function curlConnectStream(
  url: string,
  request: Record<string, unknown>,
  curlArgs: readonly string[] = [],
): Promise<{ chunks: ChunkLike[]; endStream: { error?: { code: string; message: string } } }> {
  const dir = await mkdtemp(join(tmpdir(), "modelmora-curl-"));
  try {
    const bodyPath = join(dir, "request.bin");
    await writeFile(bodyPath, envelope(JSON.stringify(request)));
    const result = await curl([
      ...curlArgs,
      "-H",
      "content-type: application/connect+json",
      "--data-binary",
      `@${bodyPath}`,
      `${url}/modelmora.InferenceService/StreamInference`,
    ]);
    const envelopes = parseEnvelopes(result.stdout);
    const last = envelopes.pop();
    assert.ok(last, "no envelopes in the response");
    assert.equal(last.flags, 2, "the last envelope is not the end of the stream");
    for (const { flags } of envelopes) {
      assert.equal(flags, 0, "a message envelope has flags set");
    }
    return {
      chunks: envelopes.map(({ data }) => chunkFromJson(JSON.parse(data.toString("utf8")))),
      endStream: JSON.parse(last.data.toString("utf8")),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** POSTs to /infer/stream with curl; returns status, headers and body. */
export async function curlRest(
  url: string,
  body: string,
  curlArgs: readonly string[] = [],
): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  const dir = await mkdtemp(join(tmpdir(), "modelmora-curl-"));
  try {
    // A file, not /dev/stderr: curl 7.88 crashes writing headers there
    // when stderr is a pipe.
    const headerPath = join(dir, "headers.txt");
    const result = await curl([
      ...curlArgs,
      "-D",
      headerPath,
      "-H",
      "content-type: application/json",
      "--data-binary",
      body,
      `${url}/infer/stream`,
    ]);
    return { ...parseHeaderDump(await readFile(headerPath, "utf8")), body: result.stdout };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Parses the header block curl writes with -D (the last one, after any 100). */
export function parseHeaderDump(dump: string): { status: number; headers: Record<string, string> } {
  const blocks = dump.split(/\r?\n\r?\n/).filter((block) => /^HTTP\//.test(block));
  const block = blocks[blocks.length - 1];
  assert.ok(block, `no HTTP status line in ${dump}`);
  const [statusLine, ...lines] = block.split(/\r?\n/);
  const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(statusLine as string)?.[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) {
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
  }
  return { status, headers };
}
