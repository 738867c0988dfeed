/**
 * What a fetch saw on the wire, in performance.now() milliseconds: when the
 * response headers came, when the first and last body bytes came, and how
 * many body bytes (protocol framing included, HTTP framing not).
 */
export interface WireMeter {
  headersMs?: number;
  firstByteMs?: number;
  lastByteMs?: number;
  bodyBytes: number;
  /** The URL of the request, to find its Resource Timing entry. */
  url?: string;
}

/** A new, empty meter. */
export function createWireMeter(): WireMeter {
  return { bodyBytes: 0 };
}

/**
 * Wraps fetch so that the response body is counted into meter as it is
 * read. connect-web takes a fetch of its own (the transports' `fetch`
 * option), so its calls are measured at the same place as REST's.
 */
export function createMeteredFetch(
  meter: WireMeter,
  baseFetch: typeof globalThis.fetch = globalThis.fetch.bind(globalThis),
): typeof globalThis.fetch {
  return async function meteredFetch(input, init) {
    meter.url = input instanceof Request ? input.url : String(input);
    const response = await baseFetch(input, init);
    meter.headersMs = performance.now();
    const body = response.body;
    if (body === null) {
      meter.lastByteMs = meter.headersMs;
      return response;
    }
    const reader = body.getReader();
    const counted = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read();
        const nowMs = performance.now();
        if (done) {
          meter.lastByteMs = nowMs;
          controller.close();
          return;
        }
        meter.firstByteMs ??= nowMs;
        meter.bodyBytes += value.byteLength;
        controller.enqueue(value);
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    });
    return new Response(counted, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

/**
 * The HTTP version the browser used for the metered request ("h2",
 * "http/1.1", …) from its Resource Timing entry, when the browser recorded
 * one; an empty string otherwise. Cross-origin servers must send
 * Timing-Allow-Origin for it to show.
 */
export function httpVersionOf(meter: WireMeter): string {
  if (meter.url === undefined) {
    return "";
  }
  const entries = performance.getEntriesByName(meter.url, "resource");
  const last = entries.at(-1) as PerformanceResourceTiming | undefined;
  return last?.nextHopProtocol ?? "";
}

/**
 * Keeps Resource Timing recording: the browser stops adding entries once
 * its buffer (250 by default) is full, which a benchmark reaches quickly.
 */
export function keepResourceTimings(): void {
  performance.addEventListener("resourcetimingbufferfull", () => {
    performance.clearResourceTimings();
  });
}
