import type { ProtocolId } from "../protocols.js";
import { protocolInfo } from "../protocols.js";
import { h } from "./dom.js";
import { formatMs, formatRate } from "./format.js";

/** One protocol's outcome in a comparison. */
export interface CompareEntry {
  readonly protocol: ProtocolId;
  readonly megabytesPerSecond?: number;
  readonly firstImageMs?: number;
  /** Images whose SHA-256 matched, of those expected. */
  readonly verified: string;
  /** The HTTP version the browser used ("h2", "http/1.1"), or "" when it did not say. */
  readonly httpVersion: string;
  /** The error that ended the run, as the page shows it. */
  readonly error?: string;
}

/**
 * Draws two groups of horizontal bars: throughput (longer is better) and
 * time to the first whole image (shorter is better), one bar per protocol,
 * scaled to the largest value of the group.
 */
export function renderCompareChart(container: HTMLElement, entries: readonly CompareEntry[]) {
  container.replaceChildren(
    group(
      "throughput",
      "Throughput (MB/s, longer is better)",
      entries,
      (entry) => entry.megabytesPerSecond,
      formatRate,
    ),
    group(
      "first-image",
      "Time to first image (shorter is better)",
      entries,
      (entry) => entry.firstImageMs,
      formatMs,
    ),
  );
}

function group(
  key: string,
  title: string,
  entries: readonly CompareEntry[],
  figureOf: (entry: CompareEntry) => number | undefined,
  format: (value: number) => string,
): HTMLElement {
  const max = Math.max(0, ...entries.map((entry) => figureOf(entry) ?? 0));
  return h(
    "figure",
    { className: "bars", attrs: { "data-chart": key } },
    h("figcaption", { text: title }),
    ...entries.map((entry) => {
      const value = figureOf(entry);
      const bar = h("span", { className: "bar" });
      const share = value === undefined || max === 0 ? 0 : value / max;
      bar.style.setProperty("--share", share.toFixed(4));
      const label =
        entry.error !== undefined
          ? `failed: ${entry.error}`
          : value === undefined
            ? "–"
            : [format(value), entry.verified, entry.httpVersion].filter(Boolean).join(" · ");
      return h(
        "div",
        {
          className: entry.error === undefined ? "bar-row" : "bar-row failed",
          attrs: { "data-protocol": entry.protocol, "data-value": String(value ?? "") },
        },
        h("span", { className: "bar-label", text: protocolInfo(entry.protocol).label }),
        h("span", { className: "bar-track" }, bar),
        h("span", { className: "bar-value", text: label }),
      );
    }),
  );
}
