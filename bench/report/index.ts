/**
 * The report: assembled from a run's results and conclusions, rendered for
 * the terminal, as Markdown and as HTML from one outline, and written to
 * files. The door of bench/report/.
 *
 * Library module of `npm run bench`; writes only under the folder it is given.
 */
export { buildReport, type RunRecord } from "./build-report.js";
export { renderHtml } from "./html.js";
export { renderMarkdown } from "./markdown.js";
export { type Block, reportBlocks } from "./sections.js";
export { renderTerminal } from "./terminal.js";
export type { BenchReport } from "./types.js";
export { writeReports } from "./write-reports.js";
