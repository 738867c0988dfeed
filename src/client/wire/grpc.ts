import { Code, ConnectError } from "@connectrpc/connect";
import {
  parseContentType,
  requestHeader,
  validateResponseWithCompression,
  validateTrailer,
} from "@connectrpc/connect/protocol-grpc";
import type { WireProtocol, WireResponse } from "./wire-protocol.js";

/**
 * gRPC over HTTP/2: the status is in the HTTP trailers (`grpc-status`,
 * `grpc-message`, `grpc-status-details-bin`), or in the headers of a
 * trailers-only response.
 */
export const grpcWire: WireProtocol = {
  name: "grpc",
  requestHeader(timeoutMs, userHeaders) {
    return requestHeader(true, timeoutMs, userHeaders);
  },
  openResponse(status, header) {
    // No compression offered, so any encoding but identity is an error.
    const { foundStatus, headerError } = validateResponseWithCompression([], status, header);
    if (headerError !== undefined) throw headerError;
    checkBinary(parseContentType(header.get("content-type"))?.binary, header);
    const trailer = new Headers();
    const response: WireResponse = {
      trailer,
      beforeMessage() {
        if (foundStatus) {
          throw new ConnectError(
            "protocol error: extra data for trailers-only",
            Code.InvalidArgument,
          );
        }
      },
      onControl(flags) {
        throw new ConnectError(
          `protocol error: an envelope with flags 0x${flags.toString(16)} in a gRPC response`,
          Code.Internal,
        );
      },
      finish(httpTrailer) {
        if (!foundStatus) validateTrailer(httpTrailer, header);
        for (const [key, value] of httpTrailer) trailer.append(key, value);
      },
    };
    return response;
  },
};

/** Throws unless the response is protobuf (binary) rather than JSON. */
export function checkBinary(binary: boolean | undefined, header: Headers): void {
  if (binary !== true) {
    throw new ConnectError(
      `protocol error: content type ${header.get("content-type")} is not the binary one asked for`,
      Code.Internal,
      header,
    );
  }
}
