/**
 * The recommendation the report opens with: for each kind of traffic
 * (large streamed payloads, small payloads, unary queries) and each client
 * stack the run measured, which protocol to use, by how much, measured how
 * and how sure, in plain words. Protocols are compared through the clients
 * their users would run (not the diagnostic wire clients, which explain
 * the gaps); two rows whose round ranges overlap are "within noise" of
 * each other, never a win. Client stacks the run did not measure are named.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import { payloadSweepModels, sizeLabel } from "../cli/index.js";
import { type ProtocolFamily, protocolTitles } from "../clients/index.js";
import { compare, overlaps, type RowResult, ratioOf, type Spread } from "../results/index.js";
import {
  byHeadline,
  clientStacks,
  isUserRow,
  measuredAt,
  okAt,
  type Place,
  stackName,
} from "./find.js";

/** The kinds of traffic the recommendation speaks to. */
export type TrafficKind = "large" | "small" | "unary" | "sizes";

/** One line of the recommendation. */
export interface RecommendationLine {
  readonly traffic: TrafficKind;
  readonly client: string;
  /** The protocols to use (labels of the leading rows), empty when not measured. */
  readonly pick: readonly string[];
  /** The whole line, in plain words. */
  readonly text: string;
}

/** The recommendation. */
export interface Recommendation {
  /** One sentence per client stack: the pick for each kind of traffic. */
  readonly summary: readonly string[];
  readonly lines: readonly RecommendationLine[];
  /** Client stacks the run has no rows for, as a sentence; undefined when all were measured. */
  readonly notMeasured?: string;
}

/** The client stacks a reader may expect figures for. */
export const expectedStacks: readonly string[] = ["node", "python", "browser"];

type Measured = RowResult & { spread: Spread };

const times = (x: number) => `${x.toFixed(2)}×`;

interface KindSpec {
  readonly kind: Exclude<TrafficKind, "sizes">;
  /** How the reader calls it. */
  readonly name: string;
  /** Where it is measured, first found wins. */
  readonly places: readonly Place[];
  /** The figure shown per row. */
  figure(row: Measured): string;
}

const kinds: readonly KindSpec[] = [
  {
    kind: "large",
    name: "Large streamed payloads (images)",
    places: [
      { scenario: "single", mode: "transport" },
      { scenario: "payload", mode: "transport", step: "noise-10m" },
      { scenario: "payload", mode: "transport", step: "noise-1000" },
    ],
    figure: (row) => `${row.spread.median.toFixed(0)} MB/s`,
  },
  {
    kind: "small",
    name: "Small payloads (< 100 KB)",
    places: [
      { scenario: "small", mode: "transport" },
      { scenario: "payload", mode: "transport", step: "noise-10k" },
    ],
    figure: (row) => `${(row.single?.latency.p50 ?? 0).toFixed(2)} ms per request`,
  },
  {
    kind: "unary",
    name: "Unary queries (model listing, health)",
    places: [{ scenario: "unary", mode: "transport" }],
    figure: (row) => `${(row.unary?.latency.p50 ?? 0).toFixed(2)} ms per call`,
  },
];

/** What a place measured, in words: "noise-1000 × 10 (about 30 MB) per request". */
function workloadWords(row: RowResult): string {
  if (row.scenario === "unary") return "ListModels, one call at a time";
  const bytes = row.single?.payloadBytes ?? 0;
  const size = bytes >= 1e6 ? `${(bytes / 1e6).toFixed(0)} MB` : `${(bytes / 1e3).toFixed(0)} KB`;
  return `${row.workload.model} × ${row.workload.batch} (about ${size}) per request`;
}

/** The best row of each protocol family (either HTTP version), best first. */
function bestPerFamily(rows: readonly Measured[]): Measured[] {
  const best = new Map<string, Measured>();
  for (const row of byHeadline(rows)) {
    const family = row.protocol ?? row.row;
    if (!best.has(family)) best.set(family, row);
  }
  return [...best.values()];
}

/** "A", "A and B", "A, B and C". */
export function listWords(items: readonly string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

/** How sure, from the rounds and the gaps. */
function sureWords(leaders: readonly Measured[], others: readonly Measured[]): string {
  const rounds = Math.min(...[...leaders, ...others].map((r) => r.spread.rounds));
  const parts: string[] = [];
  parts.push(
    rounds >= 3
      ? `median of ${rounds} rounds`
      : `${rounds === 1 ? "one round" : `${rounds} rounds`} only (a full run measures 3), so close calls are noise`,
  );
  const widest = Math.max(
    ...[...leaders, ...others].map((r) => (r.spread.high - r.spread.low) / r.spread.median),
  );
  if (rounds > 1 && widest > 0.5) {
    parts.push(
      "some ranges are wide (over ±25% of the median): the machine was busy, so rerun on an idle machine to separate close rows",
    );
  }
  if (leaders.length > 1) {
    parts.push(
      others.length > 0
        ? "the leaders are tied (their ranges overlap) and clearly ahead of the rest"
        : "all are tied (their ranges overlap)",
    );
  } else if (others.length > 0) {
    parts.push("the lead is clear (ranges apart)");
  }
  return parts.filter(Boolean).join("; ");
}

/** Why a row trails, when another row of the run shows it. */
function explain(
  results: readonly RowResult[],
  place: Place,
  row: Measured,
  best: Measured,
  kind: KindSpec["kind"],
): string[] {
  const reasons: string[] = [];
  const ratio = row.spread.median / best.spread.median;
  const wire = okAt(results, place).find(
    (r): r is Measured =>
      r.diagnostic === true &&
      r.client === row.client &&
      r.protocol === row.protocol &&
      r.httpVersion === row.httpVersion &&
      r.spread !== undefined,
  );
  if (wire !== undefined) {
    const wireRatio = wire.spread.median / best.spread.median;
    if (wireRatio >= ratio * 1.25) {
      const name = protocolTitles[row.protocol as ProtocolFamily] ?? row.protocol;
      reasons.push(`client cost: the minimal ${name} client reaches ${times(wireRatio)}`);
    }
  }
  if (row.protocol === "connect-json") {
    const binary = measuredAt(
      results,
      place,
      row.httpVersion === "2" ? "connect-h2" : "connect-h1",
    );
    const json = row.cpuPerMB?.server?.median;
    const bin = binary?.cpuPerMB?.server?.median;
    if (json !== undefined && bin !== undefined && bin > 0 && json / bin >= 1.5) {
      reasons.push(`it costs ${times(json / bin)} the server CPU per MB of Connect binary`);
    }
    if (kind === "large" && ratio < 0.5) reasons.push("never use it for images");
  }
  return reasons;
}

/** The open loop's tail latency at the highest offered load, for small and unary traffic. */
function openLoopWords(
  results: readonly RowResult[],
  kind: KindSpec["kind"],
  client: string,
): string {
  if (kind === "large") return "";
  const workload = kind === "small" ? "small" : "unary";
  const steps = results.filter(
    (r) =>
      r.status === "ok" &&
      r.scenario === "open-loop" &&
      r.step?.kind === "open-loop" &&
      r.step.workload === workload &&
      isUserRow(r) &&
      r.client === client &&
      r.openLoop !== undefined,
  );
  if (steps.length === 0) return "";
  const rate = Math.max(...steps.map((r) => (r.step?.kind === "open-loop" ? r.step.rateRps : 0)));
  const atRate = steps.filter((r) => r.step?.kind === "open-loop" && r.step.rateRps === rate);
  const p99 = atRate.map((r) => ({ label: r.label, ms: r.openLoop?.latency.p99 ?? 0 }));
  p99.sort((a, b) => a.ms - b.ms);
  const low = p99[0];
  const high = p99.at(-1);
  if (low === undefined || high === undefined) return "";
  return ` At ${rate} requests per second offered (open loop, queueing counted), p99 ranges from ${low.ms.toFixed(1)} ms (${low.label}) to ${high.ms.toFixed(1)} ms (${high.label}).`;
}

function kindLine(
  results: readonly RowResult[],
  spec: KindSpec,
  client: string,
): RecommendationLine | undefined {
  for (const place of spec.places) {
    const rows = okAt(results, place).filter(
      (r): r is Measured => isUserRow(r) && r.client === client && r.spread !== undefined,
    );
    if (rows.length === 0) continue;
    const families = bestPerFamily(rows);
    const best = families[0] as Measured;
    const leaders = families.filter((r) => overlaps(r.spread, best.spread));
    const others = families.filter((r) => !leaders.includes(r));
    const bare = measuredAt(results, place, best.httpVersion === "2" ? "bare-h2" : "bare-h1");
    let ceiling = "";
    if (bare !== undefined) {
      const ratio = ratioOf(best.spread, bare.spread);
      const http = best.httpVersion === "2" ? "HTTP/2" : "HTTP/1.1";
      ceiling =
        best.spread.low > bare.spread.high
          ? `, above the bare Node ${http} ceiling, which cannot be: the machine was busy or the baseline under-ran, so rerun before trusting it`
          : ratio.withinNoise && ratio.value >= 2 / 3
            ? `, level with the bare Node ${http} ceiling (what Node itself carries)`
            : ratio.withinNoise
              ? `, ${times(ratio.value)} of the bare Node ${http} ceiling by the medians (within noise of it only because the ranges are wide)`
              : `, at ${times(ratio.value)} of the bare Node ${http} ceiling`;
    }
    // A leader far below the fastest is tied only because the ranges are wide: say so.
    const leaderFigure = (r: Measured) => {
      const ratio = r.spread.median / best.spread.median;
      return ratio < 2 / 3
        ? `${spec.figure(r)}; its median is ${times(ratio)} the fastest's, tied only by wide ranges`
        : spec.figure(r);
    };
    const leaderText = `${listWords(leaders.map((r) => `${r.label} (${leaderFigure(r)})`))} ${
      leaders.length > 1 ? "are the fastest, within noise of each other" : "is the fastest"
    }${ceiling}.`;
    const otherText =
      others.length === 0
        ? ""
        : ` ${others
            .map((r) => {
              const c = compare(r.spread, best.spread);
              const ratio = ratioOf(r.spread, best.spread);
              const reasons = explain(results, place, r, best, spec.kind);
              const range = `range ${ratio.low.toFixed(2)}–${ratio.high.toFixed(2)}×`;
              const how =
                c === "within noise"
                  ? `within noise of ${best.label}${reasons.length > 0 ? ` (${reasons.join("; ")})` : ""}`
                  : `${times(ratio.value)} of ${best.label} (${[range, ...reasons].join("; ")})`;
              return `${r.label} is at ${how}`;
            })
            .join("; ")}.`;
    const first = rows[0] as Measured;
    return {
      traffic: spec.kind,
      client,
      pick: leaders.map((r) => r.label),
      text: `${spec.name}, ${stackName(client)}: ${leaderText}${otherText}${openLoopWords(results, spec.kind, client)} Measured with ${workloadWords(first)}, transport-only (protocol cost, no drawing); ${sureWords(leaders, others)}.`,
    };
  }
  return undefined;
}

/** The fastest protocol at each size of the payload sweep. */
function sizesLine(results: readonly RowResult[], client: string): RecommendationLine | undefined {
  const parts: string[] = [];
  const picks = new Set<string>();
  for (const model of payloadSweepModels) {
    const size = sizeLabel(model);
    const rows = okAt(results, { scenario: "payload", mode: "transport", step: model }).filter(
      (r): r is Measured => isUserRow(r) && r.client === client && r.spread !== undefined,
    );
    if (rows.length === 0) continue;
    const families = bestPerFamily(rows);
    const best = families[0] as Measured;
    const leaders = families.filter((r) => overlaps(r.spread, best.spread)).map((r) => r.label);
    for (const label of leaders) picks.add(label);
    parts.push(`${size}: ${listWords(leaders)}`);
  }
  if (parts.length === 0) return undefined;
  return {
    traffic: "sizes",
    client,
    pick: [...picks],
    text: `By payload size, ${stackName(client)} (one image per request, transport-only; ties within noise listed together): ${parts.join("; ")}.`,
  };
}

/** Builds the recommendation from a run's results. */
export function recommendationOf(results: readonly RowResult[]): Recommendation {
  const lines: RecommendationLine[] = [];
  const summary: string[] = [];
  const stacks = clientStacks(results);
  for (const client of stacks) {
    const picks: string[] = [];
    for (const spec of kinds) {
      const line = kindLine(results, spec, client);
      if (line === undefined) continue;
      lines.push(line);
      picks.push(`${spec.name.replace(/ \(.*\)$/, "").toLowerCase()} → ${listWords(line.pick)}`);
    }
    const sizes = sizesLine(results, client);
    if (sizes !== undefined) lines.push(sizes);
    const who = stackName(client);
    if (picks.length > 0) {
      summary.push(`${who[0]?.toUpperCase()}${who.slice(1)}: ${picks.join("; ")}.`);
    }
  }
  const missing = expectedStacks.filter((stack) => !stacks.includes(stack));
  return {
    summary,
    lines,
    notMeasured:
      missing.length === 0
        ? undefined
        : `Not measured in this run: ${listWords(missing.map(stackName))} (no rows for them), so this advice holds for ${stacks.length === 0 ? "no client stack" : listWords(stacks.map(stackName))} only; other stacks add their own client costs.`,
  };
}
