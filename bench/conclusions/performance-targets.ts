/**
 * Issue 4's targets, checked against a run's figures, so one run shows
 * which are met. Transport-only unless a target says otherwise; "single" is
 * the single-request scenario, "load" the concurrent one.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import type { RowResult, TargetCheck } from "../results/index.js";

/** The seed's Python figures (its README's sample results), MB/s. */
export const seedFigures = { singleMBps: 30.75, loadAggregateMBps: 31.98 } as const;

/** Memory target of issue 4: the server's RSS under 300 MB (10^6 bytes). */
export const memoryLimitBytes = 300e6;

/** Checks every target the run has figures for. */
export function checkTargets(results: readonly RowResult[]): TargetCheck[] {
  const find = (scenario: string, mode: string, row: string) =>
    results.find((r) => r.scenario === scenario && r.mode === mode && r.row === row);
  const checks: TargetCheck[] = [];
  const ratioCheck = (
    target: string,
    scenario: string,
    mode: string,
    row: string,
    reference: string,
    threshold: number,
  ) => {
    const measured = find(scenario, mode, row);
    const ref = find(scenario, mode, reference);
    if (measured === undefined && ref === undefined) return;
    const value =
      measured?.status === "ok" && ref?.status === "ok"
        ? (measured.headline as number) / (ref.headline as number)
        : undefined;
    checks.push({
      target,
      row,
      measured: value,
      threshold,
      unit: "×",
      met: value === undefined ? undefined : value >= threshold,
      comparison: `${row} / ${reference}, ${scenario} ${mode}`,
    });
  };
  const absoluteCheck = (
    target: string,
    scenario: string,
    mode: string,
    row: string,
    threshold: number,
    value: (r: RowResult) => number | undefined,
    unit: string,
    atMost = false,
  ) => {
    const measured = find(scenario, mode, row);
    if (measured === undefined) return;
    const figure = measured.status === "ok" ? value(measured) : undefined;
    checks.push({
      target,
      row,
      measured: figure,
      threshold,
      unit,
      met: figure === undefined ? undefined : atMost ? figure < threshold : figure >= threshold,
      comparison: `${row}, ${scenario} ${mode}`,
    });
  };

  // Each binary target is checked with the connect-node client (what a
  // user of the standard client gets) and with the wire client (the
  // protocol's own cost); the difference between the two is client cost.
  const binaryH2 = [
    "grpc",
    "grpc-web-h2",
    "connect-h2",
    "grpc-wire",
    "grpc-web-wire-h2",
    "connect-wire-h2",
  ];
  for (const row of binaryH2) {
    ratioCheck("binary, one stream ≥ 0.7× bare h2", "single", "transport", row, "bare-h2", 0.7);
    ratioCheck("binary, one stream ≥ 1.2× grpc-js", "single", "transport", row, "grpc-js", 1.2);
  }
  for (const row of binaryH2) {
    ratioCheck(
      "binary, 10 clients ≥ 0.7× bare h2 aggregate",
      "load",
      "transport",
      row,
      "bare-h2",
      0.7,
    );
  }
  for (const row of [
    "grpc-web-h1",
    "connect-h1",
    "rest-h1",
    "grpc-web-wire-h1",
    "connect-wire-h1",
  ]) {
    ratioCheck("HTTP/1.1 ≥ 0.7× bare h1.1", "single", "transport", row, "bare-h1", 0.7);
  }
  ratioCheck(
    "Connect JSON ≥ 0.25× Connect binary",
    "single",
    "transport",
    "connect-json-h2",
    "connect-h2",
    0.25,
  );
  ratioCheck(
    "Connect JSON ≥ 0.25× Connect binary",
    "single",
    "transport",
    "connect-json-h1",
    "connect-h1",
    0.25,
  );
  const singleTarget = 1.5 * seedFigures.singleMBps;
  const loadTarget = 1.5 * seedFigures.loadAggregateMBps;
  for (const row of ["grpc", "grpc-web-h2", "connect-h2"]) {
    absoluteCheck(
      `end-to-end single ≥ 1.5× seed (${singleTarget.toFixed(2)} MB/s)`,
      "single",
      "e2e",
      row,
      singleTarget,
      (r) => r.single?.throughputMBps,
      "MB/s",
    );
    absoluteCheck(
      `end-to-end 10 clients ≥ 1.5× seed (${loadTarget.toFixed(2)} MB/s aggregate)`,
      "load",
      "e2e",
      row,
      loadTarget,
      (r) => r.load?.aggregateMBps,
      "MB/s",
    );
  }
  absoluteCheck(
    "memory: 100 streams keep server RSS < 300 MB",
    "memory",
    "transport",
    "grpc",
    memoryLimitBytes / 1e6,
    (r) => (r.server?.peakRssBytes === undefined ? undefined : r.server.peakRssBytes / 1e6),
    "MB RSS",
    true,
  );
  return checks;
}
