/**
 * The runnable examples of a Markdown file: every fenced block preceded by
 * `<!-- run: WHERE expect="TEXT" -->` is run by a test, which checks that
 * it exits 0 and prints TEXT. WHERE names the server (or setup step) the
 * example needs; each test that runs a document says which it knows.
 */

/** One fenced code block. */
export interface DocBlock {
  readonly file: string;
  /** Line of the opening fence, from 1. */
  readonly line: number;
  /** The fence's language: sh, ts, js, python, … */
  readonly lang: string;
  readonly code: string;
  /** Its run marker, if any. */
  readonly run?: { readonly where: string; readonly expect?: string };
}

/** The fenced code blocks of a Markdown file, with their run markers. */
export function blocksOf(markdown: string, file: string): DocBlock[] {
  const lines = markdown.split("\n");
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i] as string);
    if (open === null) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== "```"; i++) {
      body.push(lines[i] as string);
    }
    const marker = /^<!-- run: ([\w-]+)(?: expect="([^"]*)")? -->$/.exec(lines[start - 1] ?? "");
    blocks.push({
      file,
      line: start + 1,
      lang: open[1] ?? "",
      code: `${body.join("\n")}\n`,
      run:
        marker === null
          ? undefined
          : { where: marker[1] as string, expect: marker[2]?.replaceAll("&quot;", '"') },
    });
  }
  return blocks;
}

/** Blocks that run curl but have no run marker: every curl example must be run. */
export function unmarkedCurlBlocks(blocks: readonly DocBlock[]): string[] {
  return blocks
    .filter((block) => /(^|[\s|;(])curl\s/m.test(block.code) && block.run === undefined)
    .map((block) => `${block.file}:${block.line}`);
}

/**
 * Points an example at a test server: the docs say http://localhost:8080
 * (and https://localhost:8443 for TLS); tests listen on free ports.
 */
export function pointAt(code: string, url: string): string {
  const port = new URL(url).port;
  return code
    .replaceAll("http://localhost:8080", url)
    .replaceAll("https://localhost:8443", `https://localhost:${port}`)
    .replaceAll("localhost:8080", `127.0.0.1:${port}`);
}
