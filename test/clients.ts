/**
 * The client configurations every protocol test runs over: each protocol
 * the Connect clients speak, over each HTTP version it supports.
 */
import type { InferenceClientOptions } from "../src/client/index.js";

export interface ClientCase {
  /** Shown in test names, for example "grpc-web over HTTP/1.1". */
  readonly name: string;
  readonly protocol: InferenceClientOptions["protocol"];
  readonly httpVersion: "1.1" | "2";
}

/** gRPC (HTTP/2 only); gRPC-Web, Connect binary and Connect JSON over both. */
export const clientCases: readonly ClientCase[] = [
  { name: "grpc over HTTP/2", protocol: "grpc", httpVersion: "2" },
  { name: "grpc-web over HTTP/1.1", protocol: "grpc-web", httpVersion: "1.1" },
  { name: "grpc-web over HTTP/2", protocol: "grpc-web", httpVersion: "2" },
  { name: "connect over HTTP/1.1", protocol: "connect", httpVersion: "1.1" },
  { name: "connect over HTTP/2", protocol: "connect", httpVersion: "2" },
  { name: "connect-json over HTTP/1.1", protocol: "connect-json", httpVersion: "1.1" },
  { name: "connect-json over HTTP/2", protocol: "connect-json", httpVersion: "2" },
];
