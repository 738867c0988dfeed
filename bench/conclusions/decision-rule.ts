/**
 * The proof of concept's decision rule ("Next Steps" of its "Production
 * gRPC Streaming Performance Test"), printed with its thresholds and
 * applied to this run's figures for each client stack measured:
 *
 *   gRPC more than 2× faster than REST   → gRPC is the primary API
 *   1.5–2× faster                        → support both protocols
 *   otherwise (similar)                  → choose by ecosystem
 *
 * The proof of concept compared its gRPC server with its REST server
 * (FastAPI over HTTP/1.1) on one request of noise-1000 × 10. The primary
 * comparison here is the same pair: gRPC against REST over HTTP/1.1, single
 * request, transport-only (the protocols' own cost, without the time spent
 * drawing images, which is the same for both). End-to-end, the 10-client
 * load and REST over HTTP/2 are applied beside it.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import type { Mode, ScenarioId } from "../cli/index.js";
import { protocolRowInfos } from "../clients/index.js";
import { type Ratio, type RowResult, ratioOf, type Spread } from "../results/index.js";
import { clientStacks, isUserRow, okAt, stackName } from "./find.js";

/** The rule's outcomes. */
export type Band = "grpc-primary" | "both" | "similar" | "rest-faster";

/** One band of the rule: when it applies and what it says to do. */
export interface DecisionBand {
  readonly band: Band;
  /** The condition on gRPC's throughput over REST's. */
  readonly when: string;
  /** What the rule says to do, in plain words. */
  readonly action: string;
}

/** The rule, as the report prints it. */
export const decisionBands: readonly DecisionBand[] = [
  {
    band: "grpc-primary",
    when: "gRPC more than 2× faster than REST",
    action: "use gRPC as the primary API, and keep REST for admin and health endpoints",
  },
  {
    band: "both",
    when: "gRPC 1.5× to 2× faster",
    action:
      "support both: gRPC for large payloads (images, embeddings), REST for simple queries (model list, status)",
  },
  {
    band: "similar",
    when: "less than 1.5× apart either way",
    action:
      "choose by ecosystem: gRPC where the services calling this one already speak it (the proof of concept's own platform did); offer both to external integrations",
  },
  {
    band: "rest-faster",
    when: "REST 1.5× faster or more (a case the rule does not foresee)",
    action:
      "gRPC has no performance case: choose by ecosystem, and offer REST (or Connect) where speed matters",
  },
];

/** The band of a gRPC/REST throughput ratio. */
export function bandOf(ratio: number): Band {
  if (ratio > 2) return "grpc-primary";
  if (ratio >= 1.5) return "both";
  if (ratio > 1 / 1.5) return "similar";
  return "rest-faster";
}

/** The rule applied to one comparison. */
export interface DecisionItem {
  /** The client stack the rows measure from. */
  readonly client: string;
  /** What is compared, in words. */
  readonly comparison: string;
  readonly scenario: ScenarioId;
  readonly mode: Mode;
  readonly grpcRow?: string;
  readonly restRow?: string;
  /** The two headlines (MB/s) with their spreads. */
  readonly grpc?: Spread;
  readonly rest?: Spread;
  /** gRPC / REST with its range. */
  readonly ratio?: Ratio;
  /** The band of the median ratio; undefined when not measured. */
  readonly band?: Band;
  /** Set when the ratio's range reaches into another band: the outcome is not decisive. */
  readonly otherBands?: readonly Band[];
  /** The outcome in plain words. */
  readonly outcome: string;
}

/** The rule and its applications. */
export interface Decision {
  readonly bands: readonly DecisionBand[];
  /** The proof of concept's comparison, once per client stack measured. */
  readonly primary: readonly DecisionItem[];
  /** The same rule on other scenarios, as supporting evidence. */
  readonly supporting: readonly DecisionItem[];
}

function fmtRatio(x: number): string {
  return `${x.toFixed(2)}×`;
}

/** "REST is 3.2× faster (range 2.9–3.5×)" or "gRPC is 1.8× faster (…)": the ratio told the readable way round. */
export function fasterText(ratio: Ratio): string {
  if (ratio.withinNoise)
    return `gRPC and REST are within noise of each other (${fmtRatio(ratio.value)})`;
  if (ratio.value >= 1) {
    return `gRPC is ${fmtRatio(ratio.value)} as fast as REST (range ${fmtRatio(ratio.low)}–${fmtRatio(ratio.high)})`;
  }
  return `REST is ${fmtRatio(1 / ratio.value)} as fast as gRPC (range ${fmtRatio(1 / ratio.high)}–${fmtRatio(1 / ratio.low)})`;
}

/** The outcome of a band, in plain words. */
function bandWords(band: Band): string {
  return (decisionBands.find((b) => b.band === band) as DecisionBand).action;
}

function pick(
  results: readonly RowResult[],
  client: string,
  scenario: ScenarioId,
  mode: Mode,
  protocol: "grpc" | "grpc-web" | "rest",
  httpVersion?: "1.1" | "2",
): (RowResult & { spread: Spread }) | undefined {
  const rows = okAt(results, { scenario, mode }).filter(
    (r) =>
      isUserRow(r) &&
      r.client === client &&
      r.protocol === protocol &&
      r.spread !== undefined &&
      (httpVersion === undefined || r.httpVersion === httpVersion),
  );
  return rows[0] as (RowResult & { spread: Spread }) | undefined;
}

/** Applies the rule to gRPC and REST rows of one client stack in one scenario. */
export function applyRule(
  results: readonly RowResult[],
  client: string,
  scenario: ScenarioId,
  mode: Mode,
  restHttpVersion: "1.1" | "2" | undefined,
  comparison: string,
): DecisionItem | undefined {
  if (!results.some((r) => r.scenario === scenario && r.mode === mode && r.client === client)) {
    return undefined;
  }
  // A stack with no gRPC row at all (browsers: no HTTP trailers, so no
  // plain gRPC) is judged with gRPC-Web, gRPC's form for it.
  const hasGrpc = results.some((r) => r.client === client && r.protocol === "grpc");
  const stand = hasGrpc ? undefined : "grpc-web";
  const grpc =
    stand === undefined
      ? pick(results, client, scenario, mode, "grpc")
      : (pick(results, client, scenario, mode, stand, "2") ??
        pick(results, client, scenario, mode, stand));
  const standsIn =
    stand === undefined || grpc === undefined
      ? ""
      : ` (${grpc.label} stands in for gRPC: ${stackName(client)} have no plain gRPC)`;
  const rest =
    pick(results, client, scenario, mode, "rest", restHttpVersion) ??
    (restHttpVersion === "1.1" ? pick(results, client, scenario, mode, "rest") : undefined);
  const base = { client, comparison, scenario, mode, grpcRow: grpc?.row, restRow: rest?.row };
  if (grpc === undefined || rest === undefined) {
    const missing = [grpc === undefined ? "gRPC" : "", rest === undefined ? "REST" : ""]
      .filter(Boolean)
      .join(" and ");
    return {
      ...base,
      grpc: grpc?.spread,
      rest: rest?.spread,
      outcome: `not applied: no ${missing} figure for ${stackName(client)} here (${
        results.some(
          (r) =>
            r.client === client && r.protocol === (grpc === undefined ? (stand ?? "grpc") : "rest"),
        )
          ? "skipped or failed; see the lines under the tables"
          : "this run has no such row"
      }). Without both, the rule cannot say anything.`,
    };
  }
  const ratio = ratioOf(grpc.spread, rest.spread);
  const band = ratio.withinNoise ? "similar" : bandOf(ratio.value);
  const reach = [bandOf(ratio.low), bandOf(ratio.high)];
  const otherBands = [...new Set(reach)].filter((b) => b !== band);
  const decisive =
    otherBands.length === 0
      ? ""
      : ` The range reaches the "${otherBands.map((b) => (decisionBands.find((d) => d.band === b) as DecisionBand).when).join('" and "')}" band${otherBands.length > 1 ? "s" : ""} too: not decisive; rerun on an idle machine before relying on it.`;
  const outside =
    band === "rest-faster" ? " That is outside the range the rule was written for." : "";
  return {
    ...base,
    grpc: grpc.spread,
    rest: rest.spread,
    ratio,
    band,
    otherBands: otherBands.length > 0 ? otherBands : undefined,
    outcome: `${fasterText(ratio)}${standsIn}.${outside} → ${bandWords(band)}.${decisive}`,
  };
}

/** Applies the rule for every client stack the run measured. */
export function decisionOf(results: readonly RowResult[]): Decision {
  const primary: DecisionItem[] = [];
  const supporting: DecisionItem[] = [];
  // Stacks that speak REST, by the registry (the rule compares gRPC with REST).
  const restStacks = new Set(
    protocolRowInfos.filter((row) => row.protocol === "rest").map((row) => row.client),
  );
  for (const client of clientStacks(results)) {
    // A stack with no REST at all (the project's SDK speaks the RPC
    // protocols only) gives the rule nothing to compare: it is left out,
    // not reported as "not applied".
    if (
      !restStacks.has(client) &&
      !results.some((r) => r.client === client && r.protocol === "rest")
    ) {
      continue;
    }
    const who = stackName(client);
    const first = applyRule(
      results,
      client,
      "single",
      "transport",
      "1.1",
      `${who}: gRPC vs REST over HTTP/1.1, one request of 10 images, transport-only (the proof of concept's comparison, protocol cost only)`,
    );
    if (first !== undefined) primary.push(first);
    for (const [scenario, mode, http, words] of [
      [
        "single",
        "e2e",
        "1.1",
        "gRPC vs REST h1.1, one request, end-to-end (as the proof of concept measured, drawing included)",
      ],
      ["load", "transport", "1.1", "gRPC vs REST h1.1, 10 clients at once, transport-only"],
      ["load", "e2e", "1.1", "gRPC vs REST h1.1, 10 clients at once, end-to-end"],
      ["single", "transport", "2", "gRPC vs REST over HTTP/2, one request, transport-only"],
    ] as const) {
      // A stack with no REST over HTTP/2 (Python's httpx speaks HTTP/1.1
      // here) has no HTTP/2 comparison to make: left out, not "not applied".
      const restH2 = results.some(
        (r) => r.client === client && r.protocol === "rest" && r.httpVersion === "2",
      );
      if (http === "2" && !restH2) continue;
      const item = applyRule(results, client, scenario, mode, http, `${who}: ${words}`);
      if (item !== undefined) supporting.push(item);
    }
  }
  return { bands: decisionBands, primary, supporting };
}
