import { connectWire } from "./connect.js";
import { grpcWire } from "./grpc.js";
import { grpcWebWire } from "./grpc-web.js";
import type { WireProtocol, WireProtocolName } from "./wire-protocol.js";

export type { WireProtocol, WireProtocolName, WireResponse } from "./wire-protocol.js";

/** The binary protocols, by name. */
export const wireProtocols: Readonly<Record<WireProtocolName, WireProtocol>> = {
  grpc: grpcWire,
  "grpc-web": grpcWebWire,
  connect: connectWire,
};
