/** A protocol the page can stream over. */
export type ProtocolId = "connect" | "connect-json" | "grpc-web" | "rest";

/** What the page shows about a protocol. */
export interface ProtocolInfo {
  readonly id: ProtocolId;
  /** Its name on buttons and in the chart. */
  readonly label: string;
  /** What goes over the wire, in a few words. */
  readonly detail: string;
}

/**
 * The protocols a browser can use, in the order the page lists and compares
 * them. Plain gRPC is not one of them: it ends every response with HTTP
 * trailers, which fetch does not expose.
 */
export const protocols: readonly ProtocolInfo[] = [
  {
    id: "connect",
    label: "Connect binary",
    detail: "connect-web, application/connect+proto",
  },
  {
    id: "connect-json",
    label: "Connect JSON",
    detail: "connect-web, application/connect+json (image bytes in base64)",
  },
  {
    id: "grpc-web",
    label: "gRPC-Web binary",
    detail: "connect-web, application/grpc-web+proto",
  },
  {
    id: "rest",
    label: "REST multipart",
    detail: "fetch, POST /infer/stream, multipart/mixed",
  },
];

/** The protocol with this id. */
export function protocolInfo(id: ProtocolId): ProtocolInfo {
  const info = protocols.find((protocol) => protocol.id === id);
  if (info === undefined) {
    throw new Error(`unknown protocol ${id}`);
  }
  return info;
}

/** Whether text names a protocol. */
export function isProtocolId(text: string): text is ProtocolId {
  return protocols.some((protocol) => protocol.id === text);
}
