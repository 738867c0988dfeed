/**
 * Figures derived across rows once a run is over: each row's ratio to the
 * baselines, generation cost (end-to-end minus transport-only), and whether
 * every row received the same bytes in transport-only mode.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import type { GenerationCost, RowResult } from "./types.js";

/**
 * Adds ratios to each ok row: its headline over the bare baseline of its
 * HTTP version (h2 rows to bare-h2, h1.1 rows to bare-h1) and over the
 * grpc-js server row, in the same scenario and mode.
 */
export function withRatios(results: readonly RowResult[]): RowResult[] {
  const headline = (scenario: string, mode: string, row: string) => {
    const found = results.find(
      (r) => r.scenario === scenario && r.mode === mode && r.row === row && r.status === "ok",
    );
    return found?.headline;
  };
  return results.map((result) => {
    if (result.status !== "ok" || result.headline === undefined) return result;
    const bareRow = result.httpVersion === "2" ? "bare-h2" : "bare-h1";
    const bare = headline(result.scenario, result.mode, bareRow);
    const grpcJs = headline(result.scenario, result.mode, "grpc-js");
    return {
      ...result,
      ratios: {
        bare: bare === undefined ? undefined : result.headline / bare,
        bareRow,
        grpcJs: grpcJs === undefined ? undefined : result.headline / grpcJs,
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
    if (e2e.mode !== "e2e" || e2e.status !== "ok") continue;
    const transport = results.find(
      (r) =>
        r.mode === "transport" &&
        r.scenario === e2e.scenario &&
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
): { scenario: RowResult["scenario"]; rowsDiffering: string[] }[] {
  const checks: { scenario: RowResult["scenario"]; rowsDiffering: string[] }[] = [];
  const scenarios = new Set(results.map((r) => r.scenario));
  for (const scenario of scenarios) {
    const rows = results.filter(
      (r) =>
        r.scenario === scenario &&
        r.mode === "transport" &&
        r.status === "ok" &&
        r.verification.imageSetSha256 !== undefined,
    );
    if (rows.length === 0) continue;
    const reference = (rows.find((r) => r.row === "grpc") ?? (rows[0] as RowResult)).verification
      .imageSetSha256;
    checks.push({
      scenario,
      rowsDiffering: rows
        .filter((r) => r.verification.imageSetSha256 !== reference)
        .map((r) => r.row),
    });
  }
  return checks;
}
