import { protocolInfo } from "../protocols.js";
import { figuresOf, type StreamRun } from "../run-stream.js";
import { h } from "./dom.js";
import { formatBytes, formatExactBytes, formatMs, formatRate } from "./format.js";
import type { ShownImage } from "./gallery.js";

/** Fills a <dl> with a run's figures: bytes, times, throughput and what was verified. */
export function renderSummary(list: HTMLElement, run: StreamRun, shown: readonly ShownImage[]) {
  const figures = figuresOf(run);
  const checked = shown.filter((image) => image.sha256Ok).length;
  const decoded = shown.filter((image) => image.decoded).length;
  const via = shown.some((image) => image.via === "javascript") ? "JavaScript" : "Web Crypto";
  const rows: [string, string, string][] = [
    ["protocol", "Protocol", protocolInfo(run.protocol).label],
    ["http-version", "HTTP", run.httpVersion || "not reported"],
    ["images", "Images", `${run.images.length} of ${run.request.batchSize}`],
    ["image-bytes", "Image bytes", formatExactBytes(run.imageBytes)],
    ["body-bytes", "Bytes on the wire", `${formatBytes(run.bodyBytes)} (body, framing included)`],
    ["first-byte", "First byte", formatMs(figures.firstByteMs)],
    ["first-image", "First image", formatMs(figures.firstImageMs)],
    ["total", "Total", formatMs(figures.totalMs)],
    ["throughput", "Throughput", formatRate(figures.megabytesPerSecond)],
    ["sha256", "SHA-256", `${checked} of ${shown.length} match (${via})`],
    ["decoded", "Decoded", `${decoded} of ${shown.length}`],
  ];
  list.replaceChildren(
    ...rows.map(([key, term, value]) =>
      h(
        "div",
        { attrs: { "data-figure": key } },
        h("dt", { text: term }),
        h("dd", { text: value }),
      ),
    ),
  );
  list.dataset.protocol = run.protocol;
}
