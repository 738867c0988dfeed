/**
 * The help text of `npm run bench -- --help`, built from the flags that
 * exist: the row ids come from the row registry and the server flags from
 * server-flags.ts, so a new row or a new pass-through flag shows here
 * without an edit.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import { payloadSweepModels, scenarioIds } from "./profiles.js";
import { serverFlags } from "./server-flags.js";

/** The row ids --protocols and --baselines accept. */
export interface KnownRows {
  readonly protocols: readonly string[];
  readonly baselines: readonly string[];
}

/** Aligns a flag and its help as the rest of the text does. */
function line(flag: string, help: string): string {
  return `  ${flag.padEnd(22)} ${help}`;
}

/** Wraps a comma-separated list to continuation lines under the help column. */
function wrapList(items: readonly string[], width = 50): string[] {
  const lines: string[] = [];
  let current = "";
  for (const item of items) {
    const next = current === "" ? item : `${current},${item}`;
    if (next.length > width && current !== "") {
      lines.push(`${current},`);
      current = item;
    } else {
      current = next;
    }
  }
  if (current !== "") lines.push(current);
  return lines;
}

/** The help text. */
export function usage(rows: KnownRows): string {
  // "rest" keeps rest-h1 and rest-h2, "browser" every browser row, …
  const families = [
    ...new Set(
      rows.protocols.map((id) =>
        id.startsWith("browser-") ? "browser" : id.replace(/-(h1|h2|wire.*|sdk.*)$/, ""),
      ),
    ),
  ].filter((family) => !rows.protocols.includes(family) || family === "grpc");
  const protocolLines = wrapList(rows.protocols);
  const pad = " ".repeat(25);
  return `Usage: npm run bench -- [flags]

Compares gRPC, gRPC-Web, Connect (binary, JSON) and REST over HTTP/1.1 and
HTTP/2 against a ModelMora server, next to bare-Node, grpc-js and Python
grpcio baselines, and says which protocol suits which traffic. See
bench/README.md.

Target
${line("--url URL", "measure a running server instead of spawning one")}
${line("--api-key KEY", "send x-api-key: KEY to the server")}
${line("--token TOKEN", "send authorization: Bearer TOKEN to the server")}
${serverFlags.map((flag) => line(`--${flag.name} ${flag.value}`, flag.help)).join("\n")}
${line("--no-baselines", "skip the baselines")}
${line("--baselines LIST", `keep these baselines: ${rows.baselines.join(",")}`)}
${line("--python PATH", "Python with grpcio for the grpcio baseline (/usr/bin/python3)")}

What to measure
${line("--protocols LIST", `keep these rows: ${protocolLines[0] ?? ""}`)}
${protocolLines
  .slice(1)
  .map((text) => `${pad}${text}`)
  .join("\n")}
${pad}or families (${families.filter((f) => f !== "grpc").join(", ")}; "grpc" is gRPC alone)
${line("--scenarios LIST", `${scenarioIds.slice(0, 5).join(",")},`)}
${pad}${scenarioIds.slice(5).join(",")} (default: all; --quick: no memory)
${line("--sweep", "only the sweeps: --scenarios payload,concurrency")}
${line("--no-sweep", "leave the sweeps out")}
${line("--browser", "only the browser rows (headless Chromium): single, load, small")}
${line("--no-browser", "leave the browser rows out (--smoke does)")}
${line("--mode M", "transport, e2e or both (default both)")}
${line("--model ID", "model of single/load/memory (noise-1000)")}
${line("--batch N", "batch_size of the single request (10)")}
${line("--clients N", "clients of the load scenario (10)")}
${line("--load-batch N", "batch_size of each load client (5; --quick: 2)")}
${line("--connections C", "load clients share one connection (shared) or not (per-client, default)")}
${line("--memory-streams N", "concurrent streams of the memory scenario (100)")}
${line("--sizes LIST", `payload sweep models (${payloadSweepModels.join(",")})`)}
${line("--streams LIST", "concurrency sweep levels (1,10,100)")}
${line("--rates LIST", "open-loop offered loads, requests per second (10,50,100)")}
${line("--window-bytes N", "HTTP/2 windows of the clients (16777216)")}
${line("--rounds N", "rounds per row, rows taking turns (3; --smoke: 1)")}
${line("--iterations N", "measured iterations per round of the single, load and small scenarios")}
${line("--time MS", "minimum time per row and round in ms (tinybench time)")}

Profiles and output
${line("--quick", "a reduced run: fewer iterations, smaller sweeps, no memory or e2e load")}
${line("--smoke", "tiny sizes, 1 round; exit code 1 on any failure (CI)")}
${line("--out DIR", "report folder (results)")}
${line("-h, --help", "this text")}

Environment: NO_COLOR turns colours off. The spawned server also reads its
MODELMORA_* variables (npm run serve -- --help).`;
}
