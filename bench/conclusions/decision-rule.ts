/**
 * The seed's decision rule, applied to the measured figures:
 *
 *   gRPC more than 2× faster than REST   → gRPC is the primary API
 *   1.5–2× faster                        → support both protocols
 *   otherwise (similar)                  → choose by ecosystem
 *
 * The seed compared its gRPC server with its REST server (FastAPI over
 * HTTP/1.1) on a single request of noise-1000 × 10. The primary comparison
 * here is the same pair: gRPC against REST over HTTP/1.1, single request,
 * transport-only (the protocols' own cost, without the time spent drawing
 * images, which is the same for both). The end-to-end and load comparisons
 * are given beside it, with their own verdicts.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import type { Mode, ScenarioId } from "../cli/index.js";
import type { RowResult, Verdict, VerdictItem } from "../results/index.js";

/** The seed's rule for a gRPC/REST throughput ratio. */
export function decide(ratio: number): string {
  if (ratio > 2) return "gRPC > 2× faster → use gRPC as the primary API (REST for admin/health)";
  if (ratio >= 1.5) {
    return "gRPC 1.5–2× faster → support both (gRPC for large payloads, REST for simple queries)";
  }
  if (ratio >= 1 / 1.5) {
    return "similar performance (< 1.5× apart) → choose by ecosystem (MiraVeja uses gRPC → gRPC; external integrations → both)";
  }
  return "REST ≥ 1.5× faster than gRPC: outside the seed's rule; gRPC has no performance case here → choose by ecosystem";
}

function item(
  results: readonly RowResult[],
  scenario: ScenarioId,
  mode: Mode,
  restRow: string,
  comparison: string,
): VerdictItem {
  const find = (row: string) =>
    results.find((r) => r.scenario === scenario && r.mode === mode && r.row === row);
  const grpc = find("grpc");
  const rest = find(restRow);
  const base = { comparison, scenario, mode, grpcRow: "grpc", restRow, unit: "MB/s" };
  if (grpc?.status !== "ok" || rest?.status !== "ok") {
    const missing = [grpc?.status !== "ok" ? "gRPC" : "", rest?.status !== "ok" ? restRow : ""]
      .filter(Boolean)
      .join(" and ");
    const why = [grpc, rest]
      .filter((r) => r !== undefined && r.status !== "ok")
      .map((r) => `${r?.row} ${r?.status}${r?.reason ? `: ${r.reason}` : ""}`)
      .join("; ");
    // The seed's "REST server not detected" case: the row was skipped at the probe.
    const notDetected =
      rest === undefined
        ? `; ${restRow} did not pass its probe (REST not detected on the target, or refused: see the lines above the tables)`
        : "";
    return {
      ...base,
      grpcFigure: grpc?.headline,
      restFigure: rest?.headline,
      decision: `no verdict: ${missing} not measured${why ? ` (${why})` : ""}${notDetected}`,
    };
  }
  const ratio = (grpc.headline as number) / (rest.headline as number);
  return {
    ...base,
    grpcFigure: grpc.headline,
    restFigure: rest.headline,
    ratio,
    decision: decide(ratio),
  };
}

/** Applies the rule to the primary comparison and the supporting ones. */
export function verdictOf(results: readonly RowResult[]): Verdict {
  const primary = item(
    results,
    "single",
    "transport",
    "rest-h1",
    "gRPC vs REST over HTTP/1.1, single request, transport-only (the seed's comparison, protocol cost only)",
  );
  const supporting: VerdictItem[] = [
    item(
      results,
      "single",
      "e2e",
      "rest-h1",
      "gRPC vs REST h1.1, single request, end-to-end (as the seed measured, generation included)",
    ),
    item(
      results,
      "load",
      "transport",
      "rest-h1",
      "gRPC vs REST h1.1, concurrent load aggregate, transport-only",
    ),
    item(
      results,
      "load",
      "e2e",
      "rest-h1",
      "gRPC vs REST h1.1, concurrent load aggregate, end-to-end",
    ),
    item(
      results,
      "single",
      "transport",
      "rest-h2",
      "gRPC vs REST over HTTP/2, single request, transport-only",
    ),
  ].filter((v) => results.some((r) => r.scenario === v.scenario && r.mode === v.mode));
  const fmt = (x: number | undefined) => (x === undefined ? "?" : x.toFixed(1));
  const summary =
    primary.ratio === undefined
      ? `Verdict: ${primary.decision}.`
      : `Verdict (${primary.comparison}): gRPC ${fmt(primary.grpcFigure)} MB/s vs REST ${fmt(primary.restFigure)} MB/s = ${primary.ratio.toFixed(2)}× → ${primary.decision}.`;
  return { primary, supporting, summary };
}
