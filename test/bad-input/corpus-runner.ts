/**
 * Sends rows of the malformed-input corpus and checks what comes back: the
 * reading of each protocol's answer (status trailers, gRPC-Web trailer
 * frame, Connect end-of-stream, JSON errors, raw HTTP/1.1 status lines,
 * HTTP/2 stream resets). Used by corpus.spec.ts and by the soak.
 */
import assert from "node:assert/strict";
import {
  connectH2,
  dataFrame,
  describeStream,
  errorCodeName,
  headersFrame,
} from "../robustness/h2/index.js";
import { http1Status, rawSocket, waitForSocketClose } from "../robustness/support.js";
import {
  connectStreamStatus,
  connectUnaryStatus,
  grpcStatus,
  grpcWebStatus,
  parseEnvelopes,
  type RawRequest,
  type RawResponse,
  rawRequest,
} from "../support/index.js";
import { type CorpusCase, type Group, listModelsPath, rawH2HeaderBlock } from "./corpus.js";

/** What came back for a row. */
export interface Observed {
  /** HTTP status (0 when none: raw HTTP/2 rows). */
  http: number;
  code?: string;
  message?: string;
  /** Response headers and trailers, and gRPC-Web trailer fields. */
  fields: Record<string, string>;
  /** The RST_STREAM code of a raw HTTP/2 row's stream. */
  reset?: number;
  /** Image bytes served, for rows that succeed. */
  servedBytes: number;
  /** A JSON error body, parsed. */
  json?: Record<string, unknown>;
}

export function isUnary(group: Group, request: RawRequest): boolean {
  return group.protocol === "rest" || request.path.startsWith(listModelsPath);
}

export function readResponse(group: Group, request: RawRequest, res: RawResponse): Observed {
  const fields = { ...res.headers, ...res.trailers };
  if (isUnary(group, request) || res.status !== 200) {
    const status = res.status === 200 ? { code: "ok", message: "" } : connectUnaryStatus(res);
    const json =
      res.status === 200
        ? undefined
        : (JSON.parse(res.body.toString("utf8")) as Record<string, unknown>);
    return { http: res.status, ...status, fields, servedBytes: res.body.length, json };
  }
  const served = parseEnvelopes(res.body)
    .filter(({ flags }) => flags === 0)
    .reduce((sum, { data }) => sum + data.length, 0);
  const status =
    group.protocol === "grpc"
      ? grpcStatus(res)
      : group.protocol === "grpc-web"
        ? grpcWebStatus(res)
        : connectStreamStatus(res);
  if (group.protocol === "connect" || group.protocol === "connect-json") {
    // Connect sends error metadata in the end-of-stream message.
    const end = parseEnvelopes(res.body).find(({ flags }) => (flags & 0x02) !== 0);
    const json = JSON.parse(end?.data.toString("utf8") ?? "{}") as {
      metadata?: Record<string, string[]>;
    };
    for (const [name, values] of Object.entries(json.metadata ?? {}))
      fields[name] = values.join(", ");
  }
  if (group.protocol === "grpc-web") {
    // The trailer frame's fields, for header checks.
    const trailer = parseEnvelopes(res.body).find(({ flags }) => (flags & 0x80) !== 0);
    for (const line of trailer?.data.toString("utf8").split("\r\n") ?? []) {
      const colon = line.indexOf(":");
      if (colon > 0)
        fields[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
  }
  return { http: res.status, ...status, fields, servedBytes: served };
}

/** Sends a row and reads what came back. */
export async function sendRow(url: string, row: CorpusCase): Promise<Observed> {
  const { send, group } = row;
  switch (send.kind) {
    case "request":
      return readResponse(group, send.request, await rawRequest(url, send.request));
    case "raw-http1": {
      const raw = await rawSocket(url);
      raw.write(send.bytes);
      await waitForSocketClose(raw.socket, row.name, 10_000);
      const text = raw.received();
      const body = text.slice(text.indexOf("\r\n\r\n") + 4);
      let status: { code?: string; message?: string } = {};
      if (/^content-type: application\/json/im.test(text)) {
        status = JSON.parse(Buffer.from(body, "latin1").toString("utf8")) as typeof status;
      }
      return { http: http1Status(text) ?? 0, ...status, fields: {}, servedBytes: 0 };
    }
    case "raw-h2": {
      const h2 = await connectH2({ url });
      try {
        await h2.settings();
        const id = h2.nextStreamId();
        h2.send(headersFrame(id, rawH2HeaderBlock(send.fields)));
        if (send.body !== undefined) h2.send(dataFrame(id, send.body, true));
        await h2.waitUntil(
          () => h2.stream(id).resetCode !== undefined || h2.stream(id).ended || h2.isClosed,
          `the answer to ${row.name}`,
        );
        const state = h2.stream(id);
        return {
          http: state.status ?? 0,
          reset: state.resetCode,
          message: describeStream(state),
          fields: {},
          servedBytes: state.dataBytes,
        };
      } finally {
        h2.destroy();
      }
    }
  }
}

export function checkRow(row: CorpusCase, seen: Observed): void {
  const { expect, group } = row;
  const shown = `HTTP ${seen.http}, ${seen.code ?? "-"}: ${seen.message ?? ""}`;
  if (expect.reset !== undefined) {
    assert.equal(
      seen.reset,
      expect.reset,
      `expected RST_STREAM ${errorCodeName(expect.reset)}, got ${seen.message}`,
    );
  }
  if (expect.code !== undefined) {
    assert.equal(seen.code, expect.code, shown);
    if (expect.code === "ok") assert.ok(seen.servedBytes > 0, "a successful call served nothing");
  }
  if (expect.http !== undefined) {
    const request = row.send.kind === "request" ? row.send.request : undefined;
    const unary = request === undefined || isUnary(group, request);
    // A streaming RPC answers in its protocol's framing (HTTP 200) unless it
    // was refused before its protocol was read.
    const status = unary || expect.httpError ? expect.http : 200;
    assert.equal(seen.http, status, shown);
  }
  if (expect.message !== undefined) {
    assert.match(seen.message ?? "", expect.message, shown);
  }
  if (group.protocol === "rest" && seen.http !== 200 && row.send.kind === "request") {
    // REST errors are JSON of exactly {code, message}.
    assert.match(
      seen.fields["content-type"] ?? "",
      /^application\/json/,
      "REST error content type",
    );
    assert.deepEqual(Object.keys(seen.json ?? {}).sort(), ["code", "message"], "REST error body");
  }
  if (expect.header !== undefined) {
    const [name, value] = expect.header;
    assert.match(seen.fields[name] ?? "", value, `header ${name}: ${JSON.stringify(seen.fields)}`);
  }
}
