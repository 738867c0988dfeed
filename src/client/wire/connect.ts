import { Code, ConnectError } from "@connectrpc/connect";
import {
  endStreamFlag,
  endStreamFromJson,
  parseContentType,
  requestHeader,
  validateResponseWithCompression,
} from "@connectrpc/connect/protocol-connect";
import { checkBinary } from "./grpc.js";
import type { WireProtocol } from "./wire-protocol.js";

/**
 * Connect streaming over HTTP/1.1 or HTTP/2: an error before the stream
 * starts is an HTTP status with a JSON body; after it, the status is the
 * last envelope (flags 0x02), JSON holding `error` and `metadata`.
 */
export const connectWire: WireProtocol = {
  name: "connect",
  requestHeader(timeoutMs, userHeaders) {
    return requestHeader("server_streaming", true, timeoutMs, userHeaders, true);
  },
  openResponse(status, header) {
    // Throws for a status other than 200, with the code it maps to.
    validateResponseWithCompression("server_streaming", [], true, status, header);
    checkBinary(parseContentType(header.get("content-type"))?.binary, header);
    const trailer = new Headers();
    let endReceived = false;
    return {
      trailer,
      beforeMessage() {
        if (endReceived) {
          throw new ConnectError(
            "protocol error: received extra message after EndStreamResponse",
            Code.InvalidArgument,
          );
        }
      },
      onControl(flags, data) {
        if ((flags & endStreamFlag) !== endStreamFlag) {
          throw new ConnectError(
            `protocol error: an envelope with flags 0x${flags.toString(16)} in a Connect response`,
            Code.Internal,
          );
        }
        if (endReceived) {
          throw new ConnectError(
            "protocol error: received extra EndStreamResponse",
            Code.InvalidArgument,
          );
        }
        endReceived = true;
        const end = endStreamFromJson(data);
        if (end.error !== undefined) {
          const error = end.error;
          for (const [key, value] of header) error.metadata.append(key, value);
          throw error;
        }
        for (const [key, value] of end.metadata) trailer.append(key, value);
      },
      finish() {
        if (!endReceived) {
          throw new ConnectError("protocol error: missing EndStreamResponse", Code.InvalidArgument);
        }
      },
    };
  },
};
