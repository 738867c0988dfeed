import { parseContentType as parseConnectContentType } from "@connectrpc/connect/protocol-connect";
import { parseContentType as parseGrpcContentType } from "@connectrpc/connect/protocol-grpc";
import { parseContentType as parseGrpcWebContentType } from "@connectrpc/connect/protocol-grpc-web";
import type { ProtocolLabel } from "../observability/index.js";
import type { AnyRequest } from "./http-types.js";

/**
 * How an RPC request is framed, read from its method and content type (or,
 * for Connect GET, its query).
 */
export interface WireFormat {
  /** The protocol, as metrics and logs label it. */
  readonly protocol: Exclude<ProtocolLabel, "rest">;
  /** Which family frames the response: errors are written its way. */
  readonly family: "grpc" | "grpc-web" | "connect-stream" | "connect-unary";
  /** Protobuf binary messages; false for JSON. */
  readonly binary: boolean;
  /** A Connect unary GET, the message in the query. */
  readonly get: boolean;
}

/**
 * The wire format of an RPC request, or undefined when its content type is
 * not one the method's protocols accept (Connect answers 415 then).
 * `streaming` is true for a server-streaming method.
 */
export function wireFormatOf(req: AnyRequest, streaming: boolean): WireFormat | undefined {
  const contentType = headerValue(req.headers["content-type"]);
  if (req.method === "GET") {
    if (streaming) return undefined;
    const encoding = new URLSearchParams((req.url ?? "").split("?")[1] ?? "").get("encoding");
    const binary = encoding === "proto";
    if (!binary && encoding !== "json") return undefined;
    return {
      protocol: binary ? "connect" : "connect-json",
      family: "connect-unary",
      binary,
      get: true,
    };
  }
  const grpc = parseGrpcContentType(contentType);
  if (grpc !== undefined) {
    return { protocol: "grpc", family: "grpc", binary: grpc.binary, get: false };
  }
  const grpcWeb = parseGrpcWebContentType(contentType);
  if (grpcWeb !== undefined) {
    // gRPC-Web's base64 "text" variant is one connect-es does not serve.
    if (grpcWeb.text) return undefined;
    return { protocol: "grpc-web", family: "grpc-web", binary: grpcWeb.binary, get: false };
  }
  const connect = parseConnectContentType(contentType);
  if (connect === undefined || connect.stream !== streaming) {
    return undefined;
  }
  return {
    protocol: connect.binary ? "connect" : "connect-json",
    family: connect.stream ? "connect-stream" : "connect-unary",
    binary: connect.binary,
    get: false,
  };
}

/**
 * The protocol label of a request whose format could not be read: by the
 * content type's family, for metrics and logs only.
 */
export function protocolGuess(req: AnyRequest): Exclude<ProtocolLabel, "rest"> {
  const contentType = headerValue(req.headers["content-type"]).toLowerCase();
  if (contentType.startsWith("application/grpc-web")) return "grpc-web";
  if (contentType.startsWith("application/grpc")) return "grpc";
  return contentType.includes("json") ? "connect-json" : "connect";
}

function headerValue(value: string | string[] | undefined): string {
  return Array.isArray(value) ? (value[0] ?? "") : (value ?? "");
}
