/**
 * Content types of the page's files, by extension. Text types name their
 * charset so a browser never sniffs one; anything else is
 * application/octet-stream.
 */
export const contentTypeByExtension: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
};

/** The content type of a file name, from its extension. */
export function contentTypeOf(fileName: string): string {
  const dot = fileName.lastIndexOf(".");
  const extension = dot === -1 ? "" : fileName.slice(dot).toLowerCase();
  return contentTypeByExtension[extension] ?? "application/octet-stream";
}
