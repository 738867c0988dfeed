/**
 * Figures derived across rows once a run is over: each row's ratio to the
 * baselines, generation cost (end-to-end minus transport-only), and whether
 * every row received the same bytes in transport-only mode.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import { isSuspect, ratioOf } from "./spread.js";
import type { GenerationCost, RatioFigure, RowResult, Step } from "./types.js";

/** A step as a key: "" outside sweeps, "noise-1k", "10/shared", "small@50". */
export function stepKey(step: Step | undefined): string {
  if (step === undefined) return "";
  switch (step.kind) {
    case "payload":
      return step.model;
    case "concurrency":
      return `${step.streams}/${step.connections}`;
    case "open-loop":
      return `${step.workload}@${step.rateRps}`;
  }
}

/** The key of a result's table: scenario, mode and step. */
export function groupKey(result: Pick<RowResult, "scenario" | "mode" | "step">): string {
  const step = stepKey(result.step);
  return `${result.scenario}/${result.mode}${step === "" ? "" : `/${step}`}`;
}

/**
 * Adds ratios to each ok row: its headline over the bare baseline of its
 * HTTP version (h2 rows to bare-h2, h1.1 rows to bare-h1) and over the
 * grpc-js server row, in the same scenario, mode and step, with the range
 * the rounds allow. A row above its bare ceiling by more than the spread is
 * marked suspect.
 */
export function withRatios(results: readonly RowResult[]): RowResult[] {
  const find = (like: RowResult, row: string) =>
    results.find((r) => r.row === row && r.status === "ok" && groupKey(r) === groupKey(like));
  return results.map((result) => {
    if (result.status !== "ok" || result.spread === undefined) return result;
    // The open loop's headline is the achieved rate, which the schedule sets: no ratio.
    if (result.scenario === "open-loop") return result;
    const bareRow = result.httpVersion === "2" ? "bare-h2" : "bare-h1";
    const bare = find(result, bareRow)?.spread;
    const grpcJs = find(result, "grpc-js")?.spread;
    const bareRatio: RatioFigure | undefined =
      bare === undefined || result.row === bareRow
        ? undefined
        : { ...ratioOf(result.spread, bare), suspect: isSuspect(result.spread, bare) };
    return {
      ...result,
      ratios: {
        bare: bareRatio,
        bareRow,
        grpcJs:
          grpcJs === undefined || result.row === "grpc-js"
            ? undefined
            : ratioOf(result.spread, grpcJs),
      },
    };
  });
}

/**
 * Generation cost per row and streaming scenario: the mean request (or
 * round) time end-to-end minus transport-only. Images are generated while
 * earlier ones stream (one image of look-ahead), so this is the part of
 * generation that streaming does not hide. The server's CPU per request in
 * each mode gives the CPU generation costs, hidden or not.
 */
export function generationCosts(results: readonly RowResult[]): GenerationCost[] {
  const costs: GenerationCost[] = [];
  for (const e2e of results) {
    if (e2e.mode !== "e2e" || e2e.status !== "ok" || e2e.step !== undefined) continue;
    const transport = results.find(
      (r) =>
        r.mode === "transport" &&
        r.scenario === e2e.scenario &&
        r.step === undefined &&
        r.row === e2e.row &&
        r.status === "ok",
    );
    if (transport === undefined) continue;
    const ms = (r: RowResult) => r.single?.totalMs ?? r.load?.totalMs;
    const transportMs = ms(transport);
    const e2eMs = ms(e2e);
    if (transportMs === undefined || e2eMs === undefined) continue;
    const cpuT = transport.server?.cpuMsPerRequest;
    const cpuE = e2e.server?.cpuMsPerRequest;
    costs.push({
      scenario: e2e.scenario,
      row: e2e.row,
      label: e2e.label,
      transportMs,
      e2eMs,
      generationMs: e2eMs - transportMs,
      generationPercent: ((e2eMs - transportMs) / e2eMs) * 100,
      serverCpuTransportMs: cpuT,
      serverCpuE2eMs: cpuE,
      serverCpuGenerationMs: cpuT !== undefined && cpuE !== undefined ? cpuE - cpuT : undefined,
    });
  }
  return costs;
}

/**
 * In transport-only mode every row asks for the same (model, prompt,
 * index) images, so every row should have received the same bytes as the
 * server under test's gRPC row. Lists the rows that did not, per scenario.
 */
export function sameBytesCheck(
  results: readonly RowResult[],
): { scenario: string; rowsDiffering: string[] }[] {
  const checks: { scenario: string; rowsDiffering: string[] }[] = [];
  const groups = new Set(
    results.filter((r) => r.mode === "transport" && r.workload.batch > 0).map(groupKey),
  );
  for (const group of groups) {
    const rows = results.filter(
      (r) =>
        groupKey(r) === group && r.status === "ok" && r.verification.imageSetSha256 !== undefined,
    );
    if (rows.length === 0) continue;
    const reference = (rows.find((r) => r.row === "grpc") ?? (rows[0] as RowResult)).verification
      .imageSetSha256;
    checks.push({
      scenario: group.replace("/transport", ""),
      rowsDiffering: rows
        .filter((r) => r.verification.imageSetSha256 !== reference)
        .map((r) => r.row),
    });
  }
  return checks;
}
