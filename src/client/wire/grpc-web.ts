import { Code, ConnectError } from "@connectrpc/connect";
import {
  parseContentType,
  requestHeader,
  trailerFlag,
  trailerParse,
  validateResponseWithCompression,
  validateTrailer,
} from "@connectrpc/connect/protocol-grpc-web";
import { checkBinary } from "./grpc.js";
import type { WireProtocol } from "./wire-protocol.js";

/**
 * gRPC-Web over HTTP/1.1 or HTTP/2: the status is in a last envelope with
 * flags 0x80 holding the trailers as HTTP/1 header lines, or in the headers
 * of a trailers-only response.
 */
export const grpcWebWire: WireProtocol = {
  name: "grpc-web",
  requestHeader(timeoutMs, userHeaders) {
    return requestHeader(true, timeoutMs, userHeaders, true);
  },
  openResponse(status, header) {
    const { foundStatus, headerError } = validateResponseWithCompression([], status, header);
    if (headerError !== undefined) throw headerError;
    checkBinary(parseContentType(header.get("content-type"))?.binary, header);
    const trailer = new Headers();
    let trailerReceived = false;
    return {
      trailer,
      beforeMessage() {
        if (foundStatus) {
          throw new ConnectError(
            "protocol error: extra data for trailers-only",
            Code.InvalidArgument,
          );
        }
        if (trailerReceived) {
          throw new ConnectError(
            "protocol error: received extra message after trailer",
            Code.InvalidArgument,
          );
        }
      },
      onControl(flags, data) {
        if ((flags & trailerFlag) !== trailerFlag) {
          throw new ConnectError(
            `protocol error: an envelope with flags 0x${flags.toString(16)} in a gRPC-Web response`,
            Code.Internal,
          );
        }
        if (foundStatus) {
          throw new ConnectError(
            "protocol error: extra data for trailers-only",
            Code.InvalidArgument,
          );
        }
        if (trailerReceived) {
          throw new ConnectError("protocol error: received extra trailer", Code.InvalidArgument);
        }
        trailerReceived = true;
        const parsed = trailerParse(data);
        validateTrailer(parsed, header);
        for (const [key, value] of parsed) trailer.append(key, value);
      },
      finish() {
        if (!foundStatus && !trailerReceived) {
          throw new ConnectError("protocol error: missing trailer", Code.Internal);
        }
      },
    };
  },
};
