/**
 * The server the page calls: the one that served it, or the one named by
 * `?server=URL` (an http or https URL; a page served elsewhere calls a
 * ModelMora server that allows its origin with --cors-origin). Returned
 * without a trailing slash, ready for "/infer/stream" and the RPC paths.
 */
export function apiBaseUrl(location: Location): string {
  const named = new URLSearchParams(location.search).get("server");
  if (named !== null && named !== "") {
    try {
      const url = new URL(named);
      if (url.protocol === "http:" || url.protocol === "https:") {
        return `${url.origin}${url.pathname}`.replace(/\/+$/, "");
      }
    } catch {
      // Not a URL: fall back to the page's own server.
    }
  }
  return location.origin;
}
