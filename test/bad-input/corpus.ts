/**
 * The malformed-input corpus: every kind of bad request, as a table, over
 * every protocol group the server speaks (gRPC; gRPC-Web, Connect binary,
 * Connect JSON and REST, each over HTTP/1.1 and HTTP/2), each row with what
 * is sent (a request, raw HTTP/1.1 bytes, or raw HTTP/2 frames) and what
 * must come back: the code, the HTTP status where the protocol has one
 * (REST, Connect unary, and any request refused before its protocol is
 * known), and a fragment of the message.
 *
 * corpus.spec.ts runs it; the soak (bench/soak/) sends rows of it as its
 * bad-input traffic. A few rows are well-formed edge cases that must
 * succeed (code "ok"): the limits themselves, forward-compatible unknown
 * fields, what JSON allows.
 */
import { brotliCompressSync, gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { InferenceRequestSchema } from "../../src/gen/modelmora/inference_pb.js";
import { encodeHeaderBlock } from "../robustness/h2/index.js";
import type { RawRequest } from "../support/index.js";
import { envelope } from "../support/index.js";

/** A protocol over an HTTP version: the unit the corpus is counted in. */
export interface Group {
  /** For example "grpc-web-h1". */
  readonly name: string;
  /** For test names: "gRPC-Web over HTTP/1.1". */
  readonly label: string;
  readonly protocol: "grpc" | "grpc-web" | "connect" | "connect-json" | "rest";
  readonly httpVersion: "1.1" | "2";
  /** Protobuf binary messages; false for JSON. */
  readonly binary: boolean;
  /** Messages travel in 5-byte envelopes. */
  readonly enveloped: boolean;
  /** The StreamInference request's content type and path. */
  readonly contentType: string;
  readonly path: string;
  /** Headers every request of the group carries. */
  readonly headers: Readonly<Record<string, string>>;
}

const streamPath = "/modelmora.InferenceService/StreamInference";
export const listModelsPath = "/modelmora.InferenceService/ListModels";

function rpcGroup(
  protocol: Group["protocol"],
  label: string,
  httpVersion: "1.1" | "2",
  contentType: string,
  headers: Record<string, string> = {},
): Group {
  return {
    name: `${protocol}-h${httpVersion === "2" ? "2" : "1"}`,
    label: `${label} over HTTP/${httpVersion}`,
    protocol,
    httpVersion,
    binary: !contentType.includes("json"),
    enveloped: true,
    contentType,
    path: streamPath,
    headers,
  };
}

function restGroup(httpVersion: "1.1" | "2"): Group {
  return {
    name: `rest-h${httpVersion === "2" ? "2" : "1"}`,
    label: `REST over HTTP/${httpVersion}`,
    protocol: "rest",
    httpVersion,
    binary: false,
    enveloped: false,
    contentType: "application/json",
    path: "/infer/stream",
    headers: {},
  };
}

/** Every protocol group: gRPC needs HTTP/2; the others run over both. */
export const groups: readonly Group[] = [
  rpcGroup("grpc", "gRPC", "2", "application/grpc+proto", { te: "trailers" }),
  rpcGroup("grpc-web", "gRPC-Web", "1.1", "application/grpc-web+proto"),
  rpcGroup("grpc-web", "gRPC-Web", "2", "application/grpc-web+proto"),
  rpcGroup("connect", "Connect binary", "1.1", "application/connect+proto"),
  rpcGroup("connect", "Connect binary", "2", "application/connect+proto"),
  rpcGroup("connect-json", "Connect JSON", "1.1", "application/connect+json"),
  rpcGroup("connect-json", "Connect JSON", "2", "application/connect+json"),
  restGroup("1.1"),
  restGroup("2"),
];

/** What must come back. */
export interface Expected {
  /** Connect code name ("invalid_argument"), "ok", or undefined for a bare HTTP answer (raw rows). */
  readonly code?: string;
  /** The HTTP status, where it says something: REST, Connect unary, refusals before the protocol is known, raw HTTP/1.1. */
  readonly http?: number;
  /** A fragment of the error message. */
  readonly message?: RegExp;
  /** A response header that must be present, and its value. */
  readonly header?: readonly [string, RegExp];
  /** Raw HTTP/2 rows: the RST_STREAM code the stream must be reset with. */
  readonly reset?: number;
  /**
   * Refused before the request's protocol was read (no route, a method or
   * content type the route does not take): answered as a plain HTTP error
   * with a JSON body whatever the protocol. Otherwise a streaming RPC
   * answers in its protocol's framing, with HTTP 200.
   */
  readonly httpError?: boolean;
}

/** How a row is sent. */
export type Send =
  | { readonly kind: "request"; readonly request: RawRequest }
  /** Bytes written on a TCP connection of their own; the server's answer is read until it closes. */
  | { readonly kind: "raw-http1"; readonly bytes: Buffer }
  /** Header fields (sent as given, in order, HPACK literals) and frames on a raw HTTP/2 connection. */
  | {
      readonly kind: "raw-h2";
      readonly fields: readonly (readonly [string, string])[];
      readonly body?: Buffer;
      readonly contentLength?: number;
    };

/** One row of the corpus. */
export interface CorpusCase {
  readonly name: string;
  readonly group: Group;
  readonly send: Send;
  readonly expect: Expected;
}

/** The fields of an InferenceRequest, proto names, as a test writes them. */
interface Fields {
  model_id?: unknown;
  prompt?: unknown;
  batch_size?: unknown;
}

const good: Fields = { model_id: "thumb-64", prompt: "corpus", batch_size: 1 };

/** The message bytes of a request: protobuf binary or JSON text. */
function messageBytes(group: Group, fields: Fields): Buffer {
  if (!group.binary) return Buffer.from(JSON.stringify(fields), "utf8");
  return Buffer.from(
    toBinary(
      InferenceRequestSchema,
      create(InferenceRequestSchema, {
        modelId: fields.model_id as string | undefined,
        prompt: fields.prompt as string | undefined,
        batchSize: fields.batch_size as number | undefined,
      }),
    ),
  );
}

/** The body of a request around message bytes: enveloped or as they are. */
function bodyOf(group: Group, message: Buffer, flags = 0): Buffer {
  return group.enveloped ? envelope(message, flags) : message;
}

/** A StreamInference request of the group with the given body and extra headers. */
function post(
  group: Group,
  body: Buffer,
  headers: Record<string, string> = {},
  path = group.path,
): Send {
  return {
    kind: "request",
    request: {
      httpVersion: group.httpVersion,
      method: "POST",
      path,
      headers: { "content-type": group.contentType, ...group.headers, ...headers },
      body,
    },
  };
}

/** A good request of the group: the check that the server still serves. */
export function goodRequest(group: Group): RawRequest {
  const send = post(group, bodyOf(group, messageBytes(group, good)));
  return (send as { request: RawRequest }).request;
}

const hex = (text: string) => Buffer.from(text, "hex");
/** field 1 (model_id) = "thumb-64", the start of most hand-made binary messages. */
const modelField = Buffer.concat([hex("0a08"), Buffer.from("thumb-64")]);
/** field 3 (batch_size) = 1. */
const batchField = hex("1801");
const modelList =
  "noise-1000, test-model, scene-1024, thumb-64, noise-1k, noise-10k, noise-100k, noise-1m, noise-10m";
const limitMessage = /request body is \d+ bytes or more; the limit is 65536/;
const invalid = (message: RegExp, http = 400): Expected => ({
  code: "invalid_argument",
  http,
  message,
});
const ok: Expected = { code: "ok" };

/** A row template: the rows it makes for a group (none when it does not apply). */
type Template = (group: Group) => { name: string; send: Send; expect: Expected }[];

/** Requests whose fields are wrong: the same over every protocol. */
const fieldCases: Template = (g) => {
  const row = (name: string, fields: Fields, expect: Expected) => ({
    name,
    send: post(g, bodyOf(g, messageBytes(g, fields))),
    expect,
  });
  const notFound = (name: string, modelId: string, message: RegExp) =>
    row(name, { ...good, model_id: modelId }, { code: "not_found", http: 404, message });
  const batch = (size: number) =>
    row(
      `batch_size ${size}`,
      { ...good, batch_size: size },
      invalid(new RegExp(`batch_size must be from 1 to 32, got ${size}$`)),
    );
  const prompt = (name: string, text: string, bytes: number) =>
    row(
      name,
      { ...good, prompt: text },
      invalid(new RegExp(`prompt must be at most 4096 bytes of UTF-8, got ${bytes}$`)),
    );
  return [
    row(
      "an empty model_id",
      { ...good, model_id: "" },
      invalid(/^model_id is required; one of: .*thumb-64/),
    ),
    row("no fields at all", {}, invalid(/^model_id is required/)),
    notFound(
      "an unknown model_id",
      "gpt-image",
      new RegExp(`^model_id "gpt-image" is not a model of this server; one of: ${modelList}$`),
    ),
    notFound(
      "a model_id of 1,000 characters (cut to 64 in the message)",
      "m".repeat(1000),
      /^model_id "m{64}…" is not a model/,
    ),
    notFound("a model_id in capitals", "THUMB-64", /model_id "THUMB-64" is not a model/),
    notFound(
      "a model_id with a trailing space",
      "thumb-64 ",
      /model_id "thumb-64 " is not a model/,
    ),
    notFound("a model_id with a NUL", "thumb-64\u0000", /is not a model of this server/),
    batch(0),
    batch(-1),
    batch(-5),
    batch(33),
    batch(2147483647),
    batch(-2147483648),
    prompt("a prompt of 4,097 ASCII bytes", "a".repeat(4097), 4097),
    prompt("a prompt of 2,049 two-byte characters (4,098 bytes)", "é".repeat(2049), 4098),
    prompt("a prompt of 1,366 three-byte characters (4,098 bytes)", "€".repeat(1366), 4098),
    prompt("a prompt of 1,025 four-byte characters (4,100 bytes)", "🦊".repeat(1025), 4100),
    row(
      "a body over --max-request-bytes (a 100 KB prompt)",
      { ...good, prompt: "x".repeat(100_000) },
      invalid(limitMessage),
    ),
    row(
      "the limits themselves: a 4,096-byte prompt and batch_size 32",
      { ...good, prompt: "a".repeat(4096), batch_size: 32 },
      ok,
    ),
  ];
};

/** Protobuf binary that does not parse, or parses to a bad request. */
const binaryCases: Template = (g) => {
  if (!g.binary) return [];
  const parse = /could not parse the request message as a InferenceRequest \(protobuf binary\)/;
  const row = (name: string, message: Buffer, expect: Expected = invalid(parse)) => ({
    name,
    send: post(g, bodyOf(g, message)),
    expect,
  });
  return [
    row("a truncated varint", Buffer.concat([modelField, hex("18ff")])),
    row(
      "an overlong varint (11 bytes)",
      Buffer.concat([modelField, hex("18ffffffffffffffffffff01")]),
    ),
    row(
      "batch_size as a 2^40 varint (int32 keeps 0)",
      Buffer.concat([modelField, hex("1880808080808020")]),
      invalid(/batch_size must be from 1 to 32, got 0$/),
    ),
    row(
      "batch_size -1 as a 10-byte varint",
      Buffer.concat([modelField, hex("18ffffffffffffffffff01")]),
      invalid(/got -1$/),
    ),
    row("model_id (a string) sent as a varint", hex("0805")),
    row("batch_size (an int32) sent length-delimited", Buffer.concat([modelField, hex("1a0101")])),
    row(
      "prompt (a string) sent as fixed32",
      Buffer.concat([modelField, hex("1501020304"), batchField]),
    ),
    row(
      "prompt (a string) sent as fixed64",
      Buffer.concat([modelField, hex("110102030405060708"), batchField]),
    ),
    row("a length past the end of the message", hex("0a10616263")),
    row("invalid UTF-8 in model_id", hex("0a02fffe1801")),
    row("invalid UTF-8 in prompt", Buffer.concat([modelField, hex("1202c328"), batchField])),
    row("field number 0", hex("000118")),
    row("a start-group that never ends", Buffer.concat([modelField, hex("1b")])),
    row("an end-group with no start", Buffer.concat([modelField, hex("1c"), batchField])),
    row("wire type 6", Buffer.concat([modelField, hex("1e")])),
    row("wire type 7, all ones", hex("ffffffff0a")),
    row("a field number past 2^29", Buffer.concat([modelField, batchField, hex("f8ffffff1f01")])),
    row(
      "an unknown field 99 (forward compatibility)",
      Buffer.concat([modelField, batchField, hex("98060f")]),
      ok,
    ),
    row(
      "an unknown group field (forward compatibility)",
      Buffer.concat([modelField, batchField, hex("a306a406")]),
      ok,
    ),
  ];
};

/** The 5-byte envelopes of gRPC, gRPC-Web and Connect streaming, and their compression. */
const envelopeCases: Template = (g) => {
  if (!g.enveloped) return [];
  const message = messageBytes(g, good);
  const encodingHeader = g.protocol.startsWith("connect")
    ? "connect-content-encoding"
    : "grpc-encoding";
  const acceptHeader = g.protocol.startsWith("connect")
    ? "connect-accept-encoding"
    : "grpc-accept-encoding";
  const timeoutHeader = g.protocol.startsWith("connect") ? "connect-timeout-ms" : "grpc-timeout";
  const row = (
    name: string,
    body: Buffer,
    expect: Expected,
    headers: Record<string, string> = {},
  ) => ({
    name,
    send: post(g, body, headers),
    expect,
  });
  const head = (flags: number, length: number) => {
    const bytes = Buffer.alloc(5);
    bytes.writeUInt8(flags, 0);
    bytes.writeUInt32BE(length, 1);
    return bytes;
  };
  const bomb = Buffer.alloc(10 * 1024 * 1024);
  return [
    row(
      "an empty body (no message)",
      Buffer.alloc(0),
      invalid(/^request has no message; this method takes exactly one$/),
    ),
    row(
      "a zero-length envelope",
      envelope(Buffer.alloc(0)),
      // An empty protobuf message is valid (every field unset); empty JSON is not JSON.
      g.binary ? invalid(/^model_id is required/) : invalid(/not valid JSON/),
    ),
    row(
      "two request messages",
      Buffer.concat([envelope(message), envelope(message)]),
      invalid(/^request has 2 messages; this method takes exactly one$/),
    ),
    row(
      "three request messages",
      Buffer.concat([envelope(message), envelope(message), envelope(message)]),
      invalid(/request has 3 messages/),
    ),
    row(
      "3 bytes of a 5-byte prefix",
      hex("000000"),
      invalid(/request envelope is truncated: 3 bytes of its 5-byte prefix/),
    ),
    row(
      "an envelope shorter than it declares",
      envelope(message).subarray(0, 5 + message.length - 3),
      invalid(/request envelope is truncated: it declares \d+ bytes and has \d+/),
    ),
    row(
      "2 stray bytes after a whole envelope",
      Buffer.concat([envelope(message), hex("0000")]),
      invalid(/truncated: 2 bytes of its 5-byte prefix/),
    ),
    row(
      "a length prefix of 4 GiB - 1",
      Buffer.concat([head(0, 0xffffffff), message]),
      invalid(/request body is 4294967295 bytes or more; the limit is 65536/),
    ),
    row(
      "a length prefix one past --max-request-bytes",
      Buffer.concat([head(0, 65537), message]),
      invalid(/request body is 65537 bytes or more; the limit is 65536/),
    ),
    row(
      "flags 0x02 (end of stream) on a request",
      envelope(message, 0x02),
      invalid(/flags 0x02; a request message may only set 0x01/),
    ),
    row(
      "flags 0x80 (a gRPC-Web trailer) on a request",
      envelope(message, 0x80),
      invalid(/flags 0x80/),
    ),
    row("flags 0xff", envelope(message, 0xff), invalid(/flags 0xff/)),
    row("flags 0x03", envelope(message, 0x03), invalid(/flags 0x03/)),
    row(
      `the compressed flag without ${encodingHeader}`,
      envelope(gzipSync(message), 0x01),
      invalid(
        new RegExp(`request message is compressed but the request has no ${encodingHeader} header`),
      ),
    ),
    row(
      "an unknown compression (snappy) with the compressed flag",
      envelope(message, 0x01),
      {
        code: "unimplemented",
        message: /request compression "snappy" is not supported; use one of gzip,br or none/,
        header: [acceptHeader, /gzip/],
      },
      { [encodingHeader]: "snappy" },
    ),
    row(
      "an unknown compression (snappy) on an uncompressed message",
      envelope(message),
      { code: "unimplemented", message: /"snappy" is not supported/ },
      { [encodingHeader]: "snappy" },
    ),
    row(
      "gzip declared, the message not gzip",
      envelope(message, 0x01),
      invalid(/request message is not valid gzip/),
      { [encodingHeader]: "gzip" },
    ),
    row(
      "br declared, the message not Brotli",
      envelope(Buffer.from("not brotli at all"), 0x01),
      invalid(/request message is not valid br/),
      { [encodingHeader]: "br" },
    ),
    row(
      "a gzip bomb (10 MB of zeros) past --max-request-bytes",
      envelope(gzipSync(bomb), 0x01),
      invalid(limitMessage),
      { [encodingHeader]: "gzip" },
    ),
    row(
      "a Brotli bomb (10 MB of zeros) past --max-request-bytes",
      envelope(brotliCompressSync(bomb), 0x01),
      invalid(limitMessage),
      { [encodingHeader]: "br" },
    ),
    row("a gzip-compressed request", envelope(gzipSync(message), 0x01), ok, {
      [encodingHeader]: "gzip",
    }),
    row("a Brotli-compressed request", envelope(brotliCompressSync(message), 0x01), ok, {
      [encodingHeader]: "br",
    }),
    row(`${encodingHeader}: identity on an uncompressed message`, envelope(message), ok, {
      [encodingHeader]: "identity",
    }),
    row(`a malformed ${timeoutHeader}`, envelope(message), invalid(/timeout/i, 400), {
      [timeoutHeader]: "abc",
    }),
    row(`an overlong ${timeoutHeader}`, envelope(message), invalid(/timeout/i, 400), {
      [timeoutHeader]: g.protocol.startsWith("connect") ? "12345678901" : "123456789S",
    }),
  ].map((r) =>
    g.protocol.startsWith("connect") || r.expect.http === undefined
      ? r
      : { ...r, expect: { ...r.expect, http: undefined } },
  );
};

/** JSON under the one policy REST and Connect JSON share. */
const jsonCases: Template = (g) => {
  if (g.binary) return [];
  const row = (name: string, text: string | Buffer, expect: Expected) => ({
    name,
    send: post(g, bodyOf(g, typeof text === "string" ? Buffer.from(text, "utf8") : text)),
    expect,
  });
  const notJson = invalid(/^request body is not valid JSON/);
  const notObject = invalid(/^request body must be a JSON object, a InferenceRequest$/);
  const notRequest = (field: RegExp) =>
    invalid(new RegExp(`^request body is not a valid InferenceRequest: .*${field.source}`));
  const base = '{"model_id":"thumb-64","prompt":"corpus","batch_size":1';
  const rows = [
    row("malformed JSON", '{"model_id": "thumb-64",', notJson),
    row("a JSON array", '["thumb-64"]', notObject),
    row("a JSON string", '"thumb-64"', notObject),
    row("JSON null", "null", notObject),
    row("a JSON number", "42", notObject),
    row("an unknown field", `${base},"colour":"red"}`, notRequest(/colour/)),
    row(
      "batch_size of the wrong type",
      '{"model_id":"thumb-64","batch_size":"many"}',
      notRequest(/batch_size/),
    ),
    row("batch_size 1.5", '{"model_id":"thumb-64","batch_size":1.5}', notRequest(/batch_size/)),
    row("batch_size 1e400", '{"model_id":"thumb-64","batch_size":1e400}', notRequest(/batch_size/)),
    row(
      "batch_size 2^31 (past int32)",
      '{"model_id":"thumb-64","batch_size":2147483648}',
      notRequest(/batch_size/),
    ),
    row("model_id a number", '{"model_id":5,"batch_size":1}', notRequest(/model_id/)),
    row(
      "prompt an object",
      '{"model_id":"thumb-64","prompt":{"a":1},"batch_size":1}',
      notRequest(/prompt/),
    ),
    row(
      "a key given twice",
      '{"model_id":"thumb-64","batch_size":1,"batch_size":2}',
      notRequest(/duplicate object key "batch_size"/),
    ),
    row(
      "one field under both its names",
      '{"model_id":"thumb-64","batch_size":1,"batchSize":2}',
      notRequest(/set multiple times/),
    ),
    row(
      "a byte order mark",
      Buffer.concat([hex("efbbbf"), Buffer.from(`${base}}`)]),
      invalid(/^JSON request body starts with a byte order mark/),
    ),
    row(
      "invalid UTF-8 in a string",
      Buffer.concat([
        Buffer.from('{"model_id":"thumb-64","prompt":"'),
        hex("c328"),
        Buffer.from('","batch_size":1}'),
      ]),
      invalid(/^JSON request body is not valid UTF-8$/),
    ),
    row("UTF-16 text", Buffer.from(`${base}}`, "utf16le"), notJson),
    row(
      "a lone surrogate escape in prompt",
      '{"model_id":"thumb-64","prompt":"\\ud800","batch_size":1}',
      notRequest(/prompt.*invalid UTF8/),
    ),
    row("bytes after the object", `${base}} x`, notJson),
    row("two objects", `${base}}${base}}`, notJson),
    row("a comment", `${base} /* c */}`, notJson),
    row("NaN", '{"model_id":"thumb-64","batch_size":NaN}', notJson),
    row("single quotes", "{'model_id':'thumb-64'}", notJson),
    row(
      "20,000 nested arrays in an unknown field",
      `${base},"x":${"[".repeat(20_000)}${"]".repeat(20_000)}}`,
      notRequest(/"x" is unknown/),
    ),
    row(
      "batch_size null (the default, 0)",
      '{"model_id":"thumb-64","batch_size":null}',
      invalid(/^batch_size must be from 1 to 32, got 0$/),
    ),
    row(
      "model_id null (the default, empty)",
      '{"model_id":null,"batch_size":1}',
      invalid(/^model_id is required/),
    ),
    row(
      "batch_size as a string (proto3 JSON allows it)",
      '{"model_id":"thumb-64","batch_size":"2"}',
      ok,
    ),
    row("the JSON names (modelId, batchSize)", '{"modelId":"thumb-64","batchSize":1}', ok),
    row("whitespace around the object", ` \n${base}}\n `, ok),
  ];
  if (!g.enveloped) rows.unshift(row("an empty body", "", notJson));
  return rows;
};

/** REST's content type and methods. */
const restCases: Template = (g) => {
  if (g.protocol !== "rest") return [];
  const body = bodyOf(g, messageBytes(g, good));
  const typed = (type: string, expect: Expected) => ({
    name: `content-type ${type}`,
    send: post(g, body, { "content-type": type }),
    expect,
  });
  const refused = (type: string) =>
    typed(
      type,
      invalid(
        new RegExp(
          `^POST /infer/stream takes content-type application/json, got "${type.replace(/[+/]/g, "\\$&")}"$`,
        ),
        415,
      ),
    );
  const method = (verb: string, path: string, allow: string) => ({
    name: `${verb} ${path}`,
    send: {
      kind: "request" as const,
      request: {
        httpVersion: g.httpVersion,
        method: verb,
        path,
        headers: { "content-type": "application/json" },
        body: verb === "GET" || verb === "DELETE" ? undefined : "{}",
      },
    },
    expect: {
      code: "unimplemented",
      http: 405,
      message: new RegExp(`accepts .* not ${verb}$`),
      header: ["allow", new RegExp(`^${allow}$`)] as const,
    },
  });
  const noType: Send = {
    kind: "request",
    request: { httpVersion: g.httpVersion, method: "POST", path: g.path, headers: {}, body },
  };
  return [
    refused("text/plain"),
    refused("application/x-www-form-urlencoded"),
    refused("application/jsonx"),
    refused("application/connect+json"),
    refused("multipart/form-data; boundary=x"),
    typed("application/json; charset=utf-8", ok),
    { name: "no content-type (documented as accepted)", send: noType, expect: ok },
    method("GET", "/infer/stream", "POST"),
    method("PUT", "/infer/stream", "POST"),
    method("DELETE", "/v1/models", "GET, HEAD"),
    method("POST", "/healthz", "GET, HEAD"),
  ];
};

/** RPC methods and content types a method does not take. */
const rpcRouteCases: Template = (g) => {
  if (g.protocol === "rest") return [];
  const body = bodyOf(g, messageBytes(g, good));
  const unsupported = (type: string) => ({
    name: `content-type ${type}`,
    send: post(g, body, { "content-type": type }),
    expect: {
      code: "unimplemented",
      http: 415,
      httpError: true,
      message: new RegExp(
        `^content type "${type.replace(/[+/]/g, "\\$&")}" is not one modelmora.InferenceService/StreamInference accepts`,
      ),
    },
  });
  const method = (verb: string) => ({
    name: `${verb} StreamInference`,
    send: {
      kind: "request" as const,
      request: {
        httpVersion: g.httpVersion,
        method: verb,
        path: streamPath,
        headers: { "content-type": g.contentType, ...g.headers },
        body: verb === "GET" ? undefined : body,
      },
    },
    expect: {
      code: "unimplemented",
      http: 405,
      message: new RegExp(`accepts POST, not ${verb}$`),
      header: ["allow", /^POST$/] as const,
      // GET has no content type to read a protocol from; PUT's is answered
      // in its protocol's framing.
      httpError: verb === "GET",
    },
  });
  const rows = [unsupported("text/plain"), method("GET"), method("PUT")];
  if (g.protocol === "grpc-web") rows.push(unsupported("application/grpc-web-text"));
  if (g.protocol.startsWith("connect")) {
    // Connect's unary content types, on a streaming method.
    rows.push(unsupported(g.binary ? "application/proto" : "application/json"));
  }
  return rows;
};

/** Connect unary: ListModels by POST and by GET. */
const unaryCases: Template = (g) => {
  if (g.protocol !== "connect" && g.protocol !== "connect-json") return [];
  const type = g.binary ? "application/proto" : "application/json";
  const postList = (
    name: string,
    body: Buffer | string,
    expect: Expected,
    headers: Record<string, string> = {},
  ) => ({
    name: `ListModels: ${name}`,
    send: {
      kind: "request" as const,
      request: {
        httpVersion: g.httpVersion,
        method: "POST",
        path: listModelsPath,
        headers: { "content-type": type, ...headers },
        body,
      },
    },
    expect,
  });
  const getList = (name: string, query: string, expect: Expected) => ({
    name: `ListModels by GET: ${name}`,
    send: {
      kind: "request" as const,
      request: { httpVersion: g.httpVersion, method: "GET", path: `${listModelsPath}?${query}` },
    },
    expect,
  });
  const encoding = g.binary ? "proto" : "json";
  const empty = g.binary ? "" : "%7B%7D";
  const rows = [
    postList(
      g.binary ? "a body that is not protobuf" : "malformed JSON",
      g.binary ? hex("ffffffff0f") : "{bad",
      g.binary
        ? invalid(/could not parse the request message as a ListModelsRequest/)
        : invalid(/^request body is not valid JSON/),
    ),
    postList(
      "a 100 KB body",
      g.binary ? Buffer.alloc(100_000, 0x0a) : JSON.stringify({ pad: "x".repeat(100_000) }),
      invalid(limitMessage),
    ),
    postList(
      "an unknown compression",
      g.binary ? Buffer.alloc(0) : "{}",
      {
        code: "unimplemented",
        http: 501,
        message: /"snappy" is not supported/,
        header: ["accept-encoding", /gzip/],
      },
      { "content-encoding": "snappy" },
    ),
    postList(
      "gzip declared, the body not gzip",
      g.binary ? Buffer.alloc(0) : "{}",
      invalid(/not valid gzip/),
      { "content-encoding": "gzip" },
    ),
    postList(
      "a gzip bomb past --max-request-bytes",
      gzipSync(Buffer.alloc(10 * 1024 * 1024, g.binary ? 0 : 0x20)),
      invalid(limitMessage),
      { "content-encoding": "gzip" },
    ),
    postList(
      "a gzip-compressed body",
      gzipSync(g.binary ? Buffer.alloc(0) : Buffer.from("{}")),
      { code: "ok", http: 200 },
      { "content-encoding": "gzip" },
    ),
    postList(
      "a content type of another codec's charset",
      "{}",
      {
        code: "unimplemented",
        http: 415,
        message: /is not one modelmora.InferenceService\/ListModels accepts/,
      },
      { "content-type": `${type}; charset=utf-16` },
    ),
    getList(
      "a message that does not parse",
      g.binary ? "encoding=proto&message=%FF%FF" : "encoding=json&message=%7Bbad",
      g.binary
        ? invalid(/ListModelsRequest \(protobuf binary\)/)
        : invalid(/^request body is not valid JSON/),
    ),
    getList(
      "base64=1 and a message that is not base64",
      `encoding=${encoding}&base64=1&message=!!!`,
      invalid(/^query parameter message is not valid base64$/),
    ),
    getList(
      "base64=2",
      `encoding=${encoding}&base64=2&message=`,
      invalid(/^query parameter base64 must be 1 or absent, got "2"$/),
    ),
    getList("an unknown encoding (xml)", "encoding=xml&message=%7B%7D", {
      code: "unimplemented",
      http: 415,
    }),
    getList("no encoding", "message=%7B%7D", { code: "unimplemented", http: 415 }),
    getList("an unknown compression", `encoding=${encoding}&message=${empty}&compression=snappy`, {
      code: "unimplemented",
      http: 501,
      message: /"snappy" is not supported/,
    }),
    getList(
      "compression=gzip, the message not gzip",
      `encoding=${encoding}&message=AAAA&compression=gzip`,
      invalid(/not valid gzip/),
    ),
    getList("a good request", `encoding=${encoding}&message=${empty}`, { code: "ok", http: 200 }),
    {
      name: "ListModels: PUT",
      send: {
        kind: "request" as const,
        request: {
          httpVersion: g.httpVersion,
          method: "PUT",
          path: listModelsPath,
          headers: { "content-type": type },
          body: "{}",
        },
      },
      expect: {
        code: "unimplemented",
        http: 405,
        message: /accepts POST or GET, not PUT$/,
        header: ["allow", /^POST, GET$/] as const,
      },
    },
  ];
  if (!g.binary) {
    rows.push(
      postList(
        "a JSON array",
        "[]",
        invalid(/^request body must be a JSON object, a ListModelsRequest$/),
      ),
      postList("an unknown field", '{"verbose":true}', invalid(/"verbose" is unknown/)),
      postList(
        "a byte order mark",
        Buffer.concat([hex("efbbbf"), Buffer.from("{}")]),
        invalid(/byte order mark/),
      ),
      postList("invalid UTF-8", hex("7b22fe223a317d"), invalid(/not valid UTF-8/)),
      getList(
        "a byte order mark in the message",
        "encoding=json&message=%EF%BB%BF%7B%7D",
        invalid(/byte order mark/),
      ),
      getList("no message", "encoding=json", invalid(/^request body is not valid JSON/)),
    );
  }
  return rows;
};

/** Paths that look like a route and are not one. */
const pathCases: Template = (g) => {
  const body = bodyOf(g, messageBytes(g, good));
  const paths =
    g.protocol === "rest"
      ? [
          "/infer/stream/",
          "/INFER/STREAM",
          "/infer//stream",
          "//infer/stream",
          "/infer/stream%00",
          "/infer",
          "/v1/models/../infer/stream",
          "/%2e%2e/infer/stream",
          "/infer%2Fstream",
          "/infer/stream;x",
        ]
      : [
          `${streamPath}/`,
          `/${streamPath}`,
          streamPath.toLowerCase(),
          `${streamPath}%00`,
          "/modelmora.InferenceService/Nope",
          "/modelmora.OtherService/StreamInference",
          `/%2e%2e${streamPath}`,
          `/..${streamPath}`,
          `${streamPath};x`,
          "/modelmora.InferenceService%2FStreamInference",
        ];
  const gets: ReturnType<Template> =
    g.protocol === "rest"
      ? // "/" alone is the browser page.
        ["/index.html", "/nope"].map((path) => ({
          name: `GET ${path}`,
          send: {
            kind: "request" as const,
            request: { httpVersion: g.httpVersion, method: "GET", path },
          },
          expect: {
            code: "not_found",
            http: 404,
            httpError: true,
            message: new RegExp(`^no route for GET ${path}$`),
          },
        }))
      : [];
  return gets.concat(
    paths.map((path) => ({
      name: `the path ${path}`,
      // Over HTTP/1.1 as raw bytes: Node's client would resolve "..", "%2e"
      // and a leading "//" before sending.
      send:
        g.httpVersion === "1.1"
          ? {
              kind: "raw-http1" as const,
              bytes: Buffer.concat([
                Buffer.from(
                  `POST ${path} HTTP/1.1\r\nHost: corpus\r\nContent-Type: ${g.contentType}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
                  "latin1",
                ),
                body,
              ]),
            }
          : post(g, body, {}, path),
      expect: {
        code: "not_found",
        http: 404,
        httpError: true,
        message: new RegExp(`^no route for POST ${path.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}$`),
      },
    })),
  );
};

/** HTTP/1.1 framing: the request-smuggling classics and malformed heads, as raw bytes. */
const http1Cases: Template = (g) => {
  if (g.httpVersion !== "1.1") return [];
  const body = bodyOf(g, messageBytes(g, good));
  const head = `POST ${g.path} HTTP/1.1\r\nHost: corpus\r\nContent-Type: ${g.contentType}\r\nConnection: close\r\n`;
  const chunk = `${body.length.toString(16)}\r\n`;
  const raw = (name: string, parts: (string | Buffer)[], http: number) => ({
    name,
    send: {
      kind: "raw-http1" as const,
      bytes: Buffer.concat(
        parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : p)),
      ),
    },
    expect: { http },
  });
  const cl = `Content-Length: ${body.length}\r\n`;
  const chunked = "Transfer-Encoding: chunked\r\n";
  // Each row ends where the parser gives up: bytes after that would arrive
  // on a socket the server has closed, and the kernel's reset could drop
  // the 400 before the client reads it.
  return [
    raw("Content-Length and Transfer-Encoding both", [head, cl, chunked, "\r\n"], 400),
    raw("two Content-Lengths that differ", [head, cl, "Content-Length: 5\r\n\r\n"], 400),
    raw("two equal Content-Lengths", [head, cl, cl, "\r\n"], 400),
    raw("an obs-fold header line", [head, "X-Folded: a\r\n  b\r\n", cl, "\r\n"], 400),
    raw("a chunk size that is not hex", [head, chunked, "\r\nzz\r\n"], 400),
    raw("a chunk size past 64 bits", [head, chunked, "\r\nffffffffffffffffff\r\n"], 400),
    raw("a chunk without its CRLF", [head, chunked, "\r\n", chunk, body, "XX"], 400),
    raw("Transfer-Encoding: xchunked", [head, "Transfer-Encoding: xchunked\r\n\r\n"], 400),
    raw(
      "Transfer-Encoding: chunked, identity",
      [head, "Transfer-Encoding: chunked, identity\r\n\r\n"],
      400,
    ),
    raw("Transfer-Encoding twice", [head, chunked, chunked, "\r\n"], 400),
    raw("a negative Content-Length", [head, "Content-Length: -5\r\n\r\n"], 400),
    raw("Content-Length: +N", [head, `Content-Length: +${body.length}\r\n\r\n`], 400),
    raw("a hex Content-Length", [head, "Content-Length: 0x26\r\n\r\n"], 400),
    raw("Content-Length: 1 2", [head, "Content-Length: 1 2\r\n\r\n"], 400),
    raw("a space before the colon", [head, `Content-Length : ${body.length}\r\n\r\n`], 400),
    raw("a header line without a colon", [head, "Bogus\r\n", cl, "\r\n"], 400),
    raw("a NUL in a header value", [head, "X-Nul: a\u0000b\r\n", cl, "\r\n"], 400),
    raw(
      "bare LF line ends",
      [head.replace(/\r\n/g, "\n"), `Content-Length: ${body.length}\n\n`],
      400,
    ),
    raw(
      "a method with an invalid character",
      [`P@ST ${g.path} HTTP/1.1\r\nHost: corpus\r\n\r\n`],
      400,
    ),
    raw("a space in the path", [`POST /infer stream HTTP/1.1\r\nHost: corpus\r\n\r\n`], 400),
    raw(
      "no Host header",
      [`POST ${g.path} HTTP/1.1\r\nContent-Type: ${g.contentType}\r\n`, cl, "\r\n", body],
      400,
    ),
    raw(
      "a 20 KB request line",
      [`POST /${"a".repeat(20_000)} HTTP/1.1\r\nHost: corpus\r\n\r\n`],
      431,
    ),
    raw("a 20 KB header", [head, `X-Big: ${"b".repeat(20_000)}\r\n\r\n`], 431),
    raw("Expect: 200-ok", [head, "Expect: 200-ok\r\n", cl, "\r\n"], 417),
  ];
};

/** HTTP/2 header blocks nghttp2 must refuse (RFC 9113 §8.2, §8.3), on raw frames. */
const http2Cases: Template = (g) => {
  if (g.httpVersion !== "2") return [];
  const body = bodyOf(g, messageBytes(g, good));
  const base: [string, string][] = [
    [":method", "POST"],
    [":scheme", "http"],
    [":path", g.path],
    [":authority", "corpus"],
    ["content-type", g.contentType],
    ...Object.entries(g.headers),
  ];
  const row = (
    name: string,
    fields: [string, string][],
    extra: { contentLength?: number } = {},
  ) => ({
    name,
    send: { kind: "raw-h2" as const, fields, body, ...extra },
    // PROTOCOL_ERROR (0x1): a malformed request is a stream error.
    expect: { reset: 0x1 },
  });
  return [
    row("an uppercase header name", [...base, ["X-Upper", "1"]]),
    row("a connection header", [...base, ["connection", "keep-alive"]]),
    row("te other than trailers", [...base.filter(([n]) => n !== "te"), ["te", "gzip"]]),
    row(
      "no :path",
      base.filter(([n]) => n !== ":path"),
    ),
    row(
      "no :method",
      base.filter(([n]) => n !== ":method"),
    ),
    row("a pseudo-header after a regular one", [
      ...base.filter(([n]) => n !== ":path"),
      [":path", g.path],
    ]),
    row("an unknown pseudo-header", [...base, [":foo", "bar"]]),
    row("DATA past its content-length", [...base, ["content-length", "5"]]),
  ];
};

const templates: readonly Template[] = [
  fieldCases,
  binaryCases,
  envelopeCases,
  jsonCases,
  restCases,
  rpcRouteCases,
  unaryCases,
  pathCases,
  http1Cases,
  http2Cases,
];

/** Every row, group by group. */
export const corpus: readonly CorpusCase[] = groups.flatMap((group) =>
  templates.flatMap((template) => template(group).map((row) => ({ ...row, group }))),
);

/** The header block of a raw HTTP/2 row, HPACK literals in the given order. */
export function rawH2HeaderBlock(fields: readonly (readonly [string, string])[]): Buffer {
  return encodeHeaderBlock(fields);
}
