/**
 * Writes a run's report files under the output folder:
 * bench-<timestamp>.json (every raw figure), .md and .html, and copies
 * named latest.json, latest.md and latest.html.
 *
 * Library module of `npm run bench`; writes only under the folder it is given.
 */
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { renderHtml } from "./html.js";
import { renderMarkdown } from "./markdown.js";
import type { BenchReport } from "./types.js";

/** Writes the files and returns their paths. */
export async function writeReports(report: BenchReport, outDir: string): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const stamp = report.startedAt.replaceAll(":", "-").replace(/\.\d+Z$/, "Z");
  const files: [string, string][] = [
    ["json", `${JSON.stringify(report, null, 2)}\n`],
    ["md", renderMarkdown(report)],
    ["html", renderHtml(report)],
  ];
  const written: string[] = [];
  for (const [extension, text] of files) {
    const path = join(outDir, `bench-${stamp}.${extension}`);
    await writeFile(path, text);
    await copyFile(path, join(outDir, `latest.${extension}`));
    written.push(path);
  }
  return written;
}
