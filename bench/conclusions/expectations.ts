/**
 * The proof of concept's expectations ("Performance Expectations", "When
 * gRPC Wins", "When REST Competitive"), each tested against this run: the
 * measured figure, a mark (✔ holds, ✗ does not, ≈ partly or within noise,
 * – not measured) and the scenario that measured it. Comparisons use the
 * rounds' ranges: a difference whose ranges overlap is "within noise".
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import { approximateBytes, payloadSweepModels, sizeLabel } from "../cli/index.js";
import {
  type Comparison,
  compare,
  type MessageSizes,
  type RowResult,
  ratioOf,
  type Spread,
} from "../results/index.js";
import { byHeadline, isUserRow, measuredAt, okAt, type Place } from "./find.js";

/** ✔ the claim holds here, ✗ it does not, ≈ partly or within noise, – not measured. */
export type Mark = "✔" | "✗" | "≈" | "–";

/** One claim tested. */
export interface Expectation {
  /** The claim in the proof of concept's words. */
  readonly claim: string;
  /** Where the proof of concept makes it. */
  readonly section: "Performance Expectations" | "When gRPC Wins" | "When REST Competitive";
  /** The figures that test it. */
  readonly measured: string;
  readonly mark: Mark;
  /** What the mark means, in plain words. */
  readonly verdict: string;
  /** The scenario that measured it. */
  readonly scenario: string;
}

const fmt = (x: number, digits = 2) => x.toFixed(digits);
const times = (x: number) => `${fmt(x)}×`;

/** ✔ when every comparison holds, ✗ when none does, ≈ otherwise; – when there are none. */
function markOf(holds: readonly boolean[], partial: readonly boolean[] = []): Mark {
  if (holds.length === 0) return "–";
  if (holds.every(Boolean)) return "✔";
  if (holds.some(Boolean) || partial.some(Boolean)) return "≈";
  return "✗";
}

const notMeasured = (claim: Omit<Expectation, "measured" | "mark" | "verdict">, why: string) => ({
  ...claim,
  measured: why,
  mark: "–" as const,
  verdict: "not measured in this run",
});

/** Comparison words for a figure where higher is better. */
function aheadWords(c: Comparison): string {
  return c === "within noise" ? "within noise" : c === "higher" ? "ahead" : "behind";
}

/** The user rows at a place with a spread. */
function userRowsAt(
  results: readonly RowResult[],
  place: Place,
): (RowResult & { spread: Spread })[] {
  return okAt(results, place).filter(
    (r): r is RowResult & { spread: Spread } =>
      isUserRow(r) && r.client === "node" && r.spread !== undefined,
  );
}

/** The best REST row at a place (Node clients). */
function bestRest(results: readonly RowResult[], place: Place) {
  return byHeadline(userRowsAt(results, place).filter((r) => r.protocol === "rest"))[0];
}

function multiplexing(results: readonly RowResult[]): Expectation {
  const claim = {
    claim: "HTTP/2 multiplexing: a single connection carries many streams well",
    section: "Performance Expectations" as const,
    scenario:
      "concurrency sweep (10 and 100 streams of about 1 MB, one connection vs one each), transport-only",
  };
  const parts: string[] = [];
  const holds: boolean[] = [];
  const partial: boolean[] = [];
  for (const streams of [10, 100]) {
    const shared = {
      scenario: "concurrency" as const,
      mode: "transport" as const,
      step: `${streams}/shared`,
    };
    const each = {
      scenario: "concurrency" as const,
      mode: "transport" as const,
      step: `${streams}/per-client`,
    };
    const cells: string[] = [];
    for (const one of okAt(results, shared)) {
      if (!(isUserRow(one) || one.row === "bare-h2") || one.spread === undefined) continue;
      const many = measuredAt(results, each, one.row);
      if (many === undefined) continue;
      const ratio = ratioOf(one.spread, many.spread);
      const c = compare(one.spread, many.spread);
      holds.push(c !== "lower");
      partial.push(c === "within noise");
      const p99 = (r: RowResult) => r.load?.clientLatency.p99;
      const p99Text =
        p99(one) !== undefined && p99(many) !== undefined
          ? `, p99 ${fmt(p99(one) as number, 0)} vs ${fmt(p99(many) as number, 0)} ms`
          : "";
      cells.push(
        `${one.label} ${ratio.withinNoise ? `≈${times(ratio.value)}` : times(ratio.value)}${p99Text}`,
      );
    }
    if (cells.length > 0)
      parts.push(`${streams} streams, one connection / one each: ${cells.join("; ")}`);
  }
  if (holds.length === 0) return notMeasured(claim, "needs the concurrency sweep (--sweep)");
  const mark = markOf(holds, partial);
  return {
    ...claim,
    measured: `${parts.join(". ")} (aggregate MB/s)`,
    mark,
    verdict:
      mark === "✔"
        ? "one HTTP/2 connection carries 10 and 100 streams as fast as one connection per stream (or faster)"
        : mark === "✗"
          ? "one connection is slower than one per stream: open several connections for heavy concurrent traffic"
          : "one connection keeps up for some protocols and levels and falls behind for others (see the figures): for heavy concurrent traffic, measure before relying on a single connection",
  };
}

function protobufSize(sizes: MessageSizes | undefined): Expectation {
  const claim = {
    claim: "Protobuf efficiency: 3–10× smaller than JSON",
    section: "Performance Expectations" as const,
    scenario:
      "message sizes sent by the server: ListModels, and the first image chunk (Connect binary vs Connect JSON)",
  };
  if (sizes === undefined)
    return notMeasured(claim, "needs the server's Connect binary and JSON answers");
  const ratios = [
    ["model list (ListModels)", sizes.listModels.jsonBytes, sizes.listModels.protobufBytes],
    ["image chunk metadata", sizes.chunk.metadataJsonBytes, sizes.chunk.metadataProtobufBytes],
    [
      `image chunk with ${sizes.chunk.dataBytes.toLocaleString("en")} bytes of data`,
      sizes.chunk.jsonBytes,
      sizes.chunk.protobufBytes,
    ],
  ] as const;
  const rest =
    sizes.listModels.restBytes === undefined
      ? ""
      : `; REST's model list (JSON) ${sizes.listModels.restBytes.toLocaleString("en")} B`;
  const measured = `${ratios
    .map(
      ([what, json, proto]) =>
        `${what}: ${proto.toLocaleString("en")} B protobuf, ${json.toLocaleString("en")} B JSON (${times(json / proto)})`,
    )
    .join("; ")}${rest}`;
  const holds = ratios.map(([, json, proto]) => json / proto >= 3);
  const mark = markOf(holds);
  const largest = Math.max(...ratios.map(([, json, proto]) => json / proto));
  return {
    ...claim,
    measured,
    mark,
    verdict:
      mark === "✔"
        ? "protobuf is 3× smaller or more for every message measured"
        : `protobuf is at most ${times(largest)} smaller here: images are bytes, which JSON carries as base64 (a third larger), and metadata is short strings that encode about alike. Size is a weak reason to prefer protobuf for this service; CPU is the stronger one (next row)`,
  };
}

function binaryFraming(results: readonly RowResult[]): Expectation {
  const claim = {
    claim: "Binary framing: less parsing overhead",
    section: "Performance Expectations" as const,
    scenario:
      "one request of 10 images, transport-only: CPU per MB on the server and in the client, Connect binary vs Connect JSON vs REST (HTTP/2)",
  };
  const place: Place = { scenario: "single", mode: "transport" };
  const binary = measuredAt(results, place, "connect-h2");
  const json = measuredAt(results, place, "connect-json-h2");
  const rest = measuredAt(results, place, "rest-h2");
  const cpu = (r: RowResult | undefined, side: "server" | "client") => r?.cpuPerMB?.[side];
  const b = cpu(binary, "server");
  const j = cpu(json, "server");
  if (b === undefined || j === undefined)
    return notMeasured(claim, "needs the single-request scenario with server CPU readings");
  const text = (side: "server" | "client") =>
    [binary, json, rest]
      .map((r) =>
        r === undefined || cpu(r, side) === undefined
          ? undefined
          : `${r.label} ${fmt((cpu(r, side) as Spread).median, 1)}`,
      )
      .filter(Boolean)
      .join(", ");
  const holds: boolean[] = [];
  const partial: boolean[] = [];
  for (const side of ["server", "client"] as const) {
    const bs = cpu(binary, side);
    const js = cpu(json, side);
    if (bs === undefined || js === undefined) continue;
    const c = compare(bs, js);
    holds.push(c === "lower");
    partial.push(c === "within noise");
  }
  const mark = markOf(holds, partial);
  const restServer = cpu(rest, "server");
  const versusRest =
    restServer === undefined
      ? ""
      : compare(b, restServer) === "higher"
        ? "; REST, which parses no messages at all, costs less still"
        : "; about what REST costs, which parses no messages at all";
  return {
    ...claim,
    measured: `ms of CPU per MB: server ${text("server")}; client ${text("client")}`,
    mark,
    verdict:
      (mark === "✔"
        ? `binary framing costs ${times(j.median / b.median)} less server CPU per MB than JSON`
        : mark === "✗"
          ? "binary framing does not cost less CPU than JSON here"
          : "binary costs less CPU than JSON on one side only, or within noise") + versusRest,
  };
}

/** The payload sweep's steps that ran, smallest first, with their Node gRPC and best REST rows. */
function payloadSteps(results: readonly RowResult[], models: readonly string[]) {
  return models
    .map((model) => {
      const place: Place = { scenario: "payload", mode: "transport", step: model };
      return {
        model,
        place,
        grpc: measuredAt(results, place, "grpc"),
        wire: measuredAt(results, place, "grpc-wire"),
        rest: bestRest(results, place),
        bare: measuredAt(results, place, "bare-h2"),
      };
    })
    .filter((step) => step.grpc !== undefined && step.rest !== undefined);
}

function largePayloads(results: readonly RowResult[]): Expectation {
  const claim = {
    claim: "Built-in streaming for large payloads: gRPC wins for payloads > 1 MB",
    section: "When gRPC Wins" as const,
    scenario:
      "payload-size sweep: one image of about 1 KB to 10 MB per request, transport-only, every protocol",
  };
  const steps = payloadSteps(results, payloadSweepModels);
  if (steps.length === 0) return notMeasured(claim, "needs the payload sweep (--sweep)");
  const sizeOf = sizeLabel;
  const compared = steps.map((step) => {
    const grpc = step.grpc as RowResult & { spread: Spread };
    const rest = step.rest as RowResult & { spread: Spread };
    return {
      ...step,
      c: compare(grpc.spread, rest.spread),
      ratio: ratioOf(grpc.spread, rest.spread),
    };
  });
  const measured = `gRPC (connect-node) / fastest REST, by size: ${compared
    .map((s) => `${sizeOf(s.model)} ${s.ratio.withinNoise ? "≈" : ""}${times(s.ratio.value)}`)
    .join(", ")}${
    compared.some((s) => s.wire !== undefined)
      ? `; the minimal gRPC client: ${compared
          .filter((s) => s.wire !== undefined)
          .map(
            (s) =>
              `${sizeOf(s.model)} ${times((s.wire as RowResult & { spread: Spread }).spread.median / (s.rest as RowResult & { spread: Spread }).spread.median)}`,
          )
          .join(", ")}`
      : ""
  }`;
  // The crossover: the first size from which gRPC stays ahead (or stops being behind).
  let crossover: string | undefined;
  for (let i = 0; i < compared.length; i++) {
    if (
      compared.slice(i).every((s) => s.c !== "lower") &&
      compared.slice(0, i).some((s) => s.c === "lower")
    ) {
      crossover = sizeOf((compared[i] as (typeof compared)[number]).model);
      break;
    }
  }
  const large = compared.filter((s) => (approximateBytes(s.model) ?? 0) >= 1e6);
  const holds = large.map((s) => s.c === "higher");
  const partial = large.map((s) => s.c === "within noise");
  const mark = markOf(holds, partial);
  const restAhead = compared.filter((s) => s.c === "lower").map((s) => sizeOf(s.model));
  return {
    ...claim,
    measured,
    mark,
    verdict: `${
      large.length === 0
        ? "no size of 1 MB or more was measured, so the claim is not tested"
        : mark === "✔"
          ? "gRPC is ahead of REST at every size from 1 MB"
          : mark === "✗"
            ? "gRPC does not win above 1 MB: REST is ahead at those sizes"
            : "above 1 MB gRPC is level with REST (within noise) or ahead at some sizes only"
    }; ${
      crossover !== undefined
        ? `gRPC stops being behind REST from about ${crossover}`
        : restAhead.length === compared.length
          ? "REST is ahead at every size measured: no crossover"
          : restAhead.length === 0
            ? "REST is never ahead: no crossover"
            : `REST is ahead at ${restAhead.join(", ")}`
    }`,
  };
}

function perMessageOverhead(results: readonly RowResult[]): Expectation {
  const claim = {
    claim: "Low latency: binary protocol overhead < 1 ms",
    section: "When gRPC Wins" as const,
    scenario:
      "payload sweep's 1 KB step (one message per request): median request time minus bare Node HTTP/2's",
  };
  let place: Place = { scenario: "payload", mode: "transport", step: "noise-1k" };
  const p50 = (r: RowResult | undefined) => r?.single?.latency.p50 ?? r?.unary?.latency.p50;
  let bare = okAt(results, place).find((r) => r.row === "bare-h2");
  if (bare === undefined) {
    place = { scenario: "unary", mode: "transport" };
    bare = okAt(results, place).find((r) => r.row === "bare-h2");
    claim.scenario = "unary ListModels: median call time minus bare Node HTTP/2's";
  }
  if (bare === undefined || p50(bare) === undefined)
    return notMeasured(
      claim,
      "needs the payload sweep or the unary scenario with the bare Node baseline",
    );
  const rows = okAt(results, place).filter(
    (r) =>
      r.kind === "protocol" &&
      r.client === "node" &&
      r.httpVersion === "2" &&
      r.protocol !== "rest" &&
      r.protocol !== "connect-json",
  );
  if (rows.length === 0) return notMeasured(claim, "no binary protocol row ran");
  const overheads = rows.map((r) => ({
    label: r.label,
    ms: (p50(r) as number) - (p50(bare) as number),
    user: isUserRow(r),
  }));
  const holds = overheads.filter((o) => o.user).map((o) => o.ms < 1);
  const mark = markOf(
    holds,
    overheads.map((o) => o.ms < 1),
  );
  return {
    ...claim,
    measured: `bare Node h2 ${fmt(p50(bare) as number)} ms; added: ${overheads.map((o) => `${o.label} ${o.ms >= 0 ? "+" : ""}${fmt(o.ms)} ms`).join(", ")}`,
    mark,
    verdict:
      mark === "✔"
        ? "every binary protocol adds less than 1 ms per small message over bare HTTP/2"
        : mark === "✗"
          ? "the binary protocols add 1 ms or more per small message through the standard client"
          : "under 1 ms for some binary protocols or only without the client library (the wire rows)",
  };
}

function restSmall(results: readonly RowResult[]): Expectation {
  const claim = {
    claim:
      "REST competitive for small payloads (< 100 KB) and simple queries (model listing, health)",
    section: "When REST Competitive" as const,
    scenario:
      "payload sweep up to 100 KB, the small-payload scenario (19 KB) and unary ListModels: fastest REST vs gRPC",
  };
  const places: [string, Place][] = [
    ...["noise-1k", "noise-10k", "noise-100k"].map(
      (model) =>
        [sizeLabel(model), { scenario: "payload", mode: "transport", step: model }] as [
          string,
          Place,
        ],
    ),
    ["small payload", { scenario: "small", mode: "transport" }],
    ["ListModels", { scenario: "unary", mode: "transport" }],
  ];
  const parts: string[] = [];
  const holds: boolean[] = [];
  for (const [what, place] of places) {
    const rest = bestRest(results, place);
    const grpc = measuredAt(results, place, "grpc");
    if (rest === undefined || grpc === undefined) continue;
    const c = compare(rest.spread, grpc.spread);
    holds.push(c !== "lower");
    const p = (r: RowResult) => r.single?.latency ?? r.unary?.latency;
    const latency = (r: RowResult) => {
      const d = p(r);
      return d === undefined ? "" : ` ${fmt(d.p50)}/${fmt(d.p99)} ms`;
    };
    parts.push(
      `${what}: ${rest.label}${latency(rest)} vs gRPC${latency(grpc)} (REST ${aheadWords(c)})`,
    );
  }
  if (holds.length === 0)
    return notMeasured(
      claim,
      "needs the small, unary or payload scenarios with REST and gRPC rows",
    );
  const mark = holds.every(Boolean) ? "✔" : holds.some(Boolean) ? "≈" : "✗";
  return {
    ...claim,
    measured: `p50/p99 per request: ${parts.join("; ")}`,
    mark,
    verdict:
      mark === "✔"
        ? "REST is as fast as gRPC or faster for every small payload and simple query measured"
        : mark === "✗"
          ? "REST is behind gRPC for small payloads and simple queries here"
          : "REST keeps up for some small payloads or queries and falls behind for others",
  };
}

function streamsWords(streams: number): string {
  return `${streams} concurrent stream${streams === 1 ? "" : "s"}`;
}

function concurrentThroughput(results: readonly RowResult[]): Expectation {
  const claim = {
    claim: "High throughput: many concurrent requests",
    section: "When gRPC Wins" as const,
    scenario:
      "concurrency sweep: 1, 10 and 100 concurrent streams of about 1 MB, one connection each, transport-only",
  };
  const levels = [1, 10, 100]
    .map((streams) => ({
      streams,
      place: { scenario: "concurrency", mode: "transport", step: `${streams}/per-client` } as Place,
    }))
    .filter(
      ({ place }) =>
        measuredAt(results, place, "grpc") !== undefined && bestRest(results, place) !== undefined,
    );
  if (levels.length === 0) return notMeasured(claim, "needs the concurrency sweep (--sweep)");
  const parts = levels.map(({ streams, place }) => {
    const grpc = measuredAt(results, place, "grpc") as RowResult & { spread: Spread };
    const rest = bestRest(results, place) as RowResult & { spread: Spread };
    const p99 = (r: RowResult) =>
      r.load === undefined ? "" : `, p99 ${fmt(r.load.clientLatency.p99, 0)} ms`;
    return {
      streams,
      c: compare(grpc.spread, rest.spread),
      text: `${streams}: gRPC ${fmt(grpc.spread.median, 0)} MB/s${p99(grpc)}, ${rest.label} ${fmt(rest.spread.median, 0)} MB/s${p99(rest)}`,
    };
  });
  const top = parts.at(-1) as (typeof parts)[number];
  const mark: Mark = top.c === "higher" ? "✔" : top.c === "within noise" ? "≈" : "✗";
  return {
    ...claim,
    measured: `aggregate by concurrent streams: ${parts.map((p) => p.text).join("; ")}`,
    mark,
    verdict:
      mark === "✔"
        ? `with ${streamsWords(top.streams)} gRPC moves more data than REST`
        : mark === "≈"
          ? `with ${streamsWords(top.streams)} gRPC and REST are within noise of each other`
          : `with ${streamsWords(top.streams)} REST moves more data than gRPC: gRPC does not win on concurrency here`,
  };
}

/** Tests each expectation the run has figures for. */
export function expectationsOf(
  results: readonly RowResult[],
  sizes: MessageSizes | undefined,
): Expectation[] {
  return [
    multiplexing(results),
    protobufSize(sizes),
    binaryFraming(results),
    largePayloads(results),
    perMessageOverhead(results),
    restSmall(results),
    concurrentThroughput(results),
  ];
}
