/** The head of one part of a multipart body: its headers, names lowercased. */
export interface PartHead {
  readonly headers: ReadonlyMap<string, string>;
  /** From the part's content-length header. */
  readonly contentLength: number;
}

/** Receives a multipart body's parts as they arrive. */
export interface MultipartSink {
  partStart(head: PartHead): void;
  /** A piece of the current part's body; the view is only valid during the call. */
  partData(data: Uint8Array): void;
  partEnd(): void;
}

/**
 * A streaming reader of a multipart/mixed body (RFC 2046 §5.1) as the REST
 * route sends it: every part carries a content-length, so part bodies pass
 * through to the sink without being searched for the boundary or copied.
 */
export interface MultipartReader {
  /** Feeds the next bytes of the body. Throws on a malformed body. */
  push(bytes: Uint8Array): void;
  /** The body ended: throws unless the closing delimiter came. */
  end(): void;
}

/** Longest part head accepted, in bytes: a guard against a body that is not multipart. */
const maxHeadBytes = 16 * 1024;

const crlf = new Uint8Array([13, 10]);
const crlfCrlf = new Uint8Array([13, 10, 13, 10]);
const dashDash = new Uint8Array([45, 45]);

type State = "preamble" | "delimiter" | "after-delimiter" | "head" | "body" | "done";

/** Creates a reader for a body whose boundary is given (without the leading "--"). */
export function createMultipartReader(boundary: string, sink: MultipartSink): MultipartReader {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const dashBoundary = encoder.encode(`--${boundary}`);
  const nextDelimiter = encoder.encode(`\r\n--${boundary}`);
  let state: State = "preamble";
  let pending = new Uint8Array(0);
  let remaining = 0;

  function push(bytes: Uint8Array): void {
    const data = pending.byteLength === 0 ? bytes : concat(pending, bytes);
    pending = new Uint8Array(0);
    let pos = 0;
    while (pos < data.byteLength) {
      if (state === "body") {
        const n = Math.min(remaining, data.byteLength - pos);
        sink.partData(data.subarray(pos, pos + n));
        pos += n;
        remaining -= n;
        if (remaining === 0) {
          sink.partEnd();
          state = "delimiter";
        }
        continue;
      }
      if (state === "done") {
        // The epilogue, if any, is ignored.
        return;
      }
      if (state === "preamble") {
        const at = indexOf(data, dashBoundary, pos);
        if (at === -1) {
          keep(data.subarray(Math.max(pos, data.byteLength - dashBoundary.byteLength + 1)));
          return;
        }
        pos = at + dashBoundary.byteLength;
        state = "after-delimiter";
        continue;
      }
      if (state === "delimiter") {
        if (data.byteLength - pos < nextDelimiter.byteLength) {
          keep(data.subarray(pos));
          return;
        }
        if (!startsWith(data, nextDelimiter, pos)) {
          throw new Error("a multipart part is longer than its content-length");
        }
        pos += nextDelimiter.byteLength;
        state = "after-delimiter";
        continue;
      }
      if (state === "after-delimiter") {
        if (data.byteLength - pos < 2) {
          keep(data.subarray(pos));
          return;
        }
        if (startsWith(data, dashDash, pos)) {
          state = "done";
          return;
        }
        if (!startsWith(data, crlf, pos)) {
          throw new Error("a multipart delimiter is not followed by CRLF");
        }
        pos += 2;
        state = "head";
        continue;
      }
      // state === "head": the header lines, up to an empty line.
      const emptyHead = startsWith(data, crlf, pos);
      const end = emptyHead ? pos - 2 : indexOf(data, crlfCrlf, pos);
      if (end === -1 && !emptyHead) {
        if (data.byteLength - pos > maxHeadBytes) {
          throw new Error(`a multipart part head is longer than ${maxHeadBytes} bytes`);
        }
        keep(data.subarray(pos));
        return;
      }
      const head = parseHead(emptyHead ? "" : decoder.decode(data.subarray(pos, end)));
      pos = emptyHead ? pos + 2 : end + 4;
      sink.partStart(head);
      remaining = head.contentLength;
      if (remaining === 0) {
        sink.partEnd();
        state = "delimiter";
      } else {
        state = "body";
      }
    }

    function keep(rest: Uint8Array): void {
      // A copy: the caller may reuse the buffer it pushed.
      pending = rest.slice();
    }
  }

  return {
    push,
    end() {
      if (state !== "done") {
        throw new Error(
          state === "body"
            ? `the response ended ${remaining} bytes into a part: the stream was cut off`
            : "the response ended before the multipart body's closing delimiter",
        );
      }
    },
  };
}

/** The boundary parameter of a multipart content type, or undefined. */
export function boundaryOf(contentType: string): string | undefined {
  const match = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

function parseHead(text: string): PartHead {
  const headers = new Map<string, string>();
  for (const line of text.split("\r\n")) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) {
      throw new Error(`a multipart part header is not "name: value": ${line.slice(0, 80)}`);
    }
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const length = headers.get("content-length");
  const contentLength = Number(length);
  if (length === undefined || !/^\d+$/.test(length) || !Number.isSafeInteger(contentLength)) {
    throw new Error("a multipart part has no valid content-length");
  }
  return { headers, contentLength };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}

function startsWith(data: Uint8Array, prefix: Uint8Array, at: number): boolean {
  if (data.byteLength - at < prefix.byteLength) return false;
  for (let i = 0; i < prefix.byteLength; i++) {
    if (data[at + i] !== prefix[i]) return false;
  }
  return true;
}

function indexOf(data: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0] as number;
  let at = data.indexOf(first, from);
  while (at !== -1 && at + needle.byteLength <= data.byteLength) {
    if (startsWith(data, needle, at)) return at;
    at = data.indexOf(first, at + 1);
  }
  return -1;
}
