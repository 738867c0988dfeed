import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { HttpVersionLabel } from "../observability/index.js";

/** A request of either HTTP version, as Node's servers give it. */
export type AnyRequest = IncomingMessage | Http2ServerRequest;

/** A response of either HTTP version, as Node's servers give it. */
export type AnyResponse = ServerResponse | Http2ServerResponse;

/** The path of a request, without its query. */
export function pathOf(req: AnyRequest): string {
  const url = req.url ?? "/";
  const query = url.indexOf("?");
  return query === -1 ? url : url.slice(0, query);
}

/** "1.1" or "2", the label of the request's HTTP version. */
export function httpVersionOf(req: AnyRequest): HttpVersionLabel {
  return req.httpVersion === "2.0" ? "2" : "1.1";
}

/** The request headers as a Fetch Headers object, without HTTP/2 pseudo-headers. */
export function headersOf(req: AnyRequest): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith(":") || value === undefined) continue;
    headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  return headers;
}

/** Fetch Headers as a plain object, for Node's writeHead. */
export function headersObject(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

/** Sends a whole body with a content length in one write. */
export function sendBody(
  res: AnyResponse,
  status: number,
  contentType: string,
  body: string | Uint8Array,
): void {
  res.setHeader("content-type", contentType);
  res.setHeader(
    "content-length",
    typeof body === "string" ? Buffer.byteLength(body) : body.byteLength,
  );
  res.writeHead(status);
  res.end(body);
}

/** Sends a JSON body with the given status. */
export function sendJson(res: AnyResponse, status: number, body: unknown): void {
  sendBody(res, status, "application/json", JSON.stringify(body));
}
