#!/usr/bin/env node
/**
 * `npm run bench:levers`: measures each performance lever with it off ("before")
 * and on ("after"), each server and client in its own process, on one
 * transport-only request (noise-1000 × 10, 30.1 MB), alternating before and
 * after so both see the same machine load. Prints a Markdown table for
 * bench/README.md.
 *
 *   npm run bench:levers                      every lever
 *   npm run bench:levers -- --only splice     one lever (ids in the table)
 *   npm run bench:levers -- --rounds 5 --iterations 9
 *
 * Reads only its flags.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { isUsageError, UsageError } from "../cli/index.js";
import { installCleanupHandlers, startListening, tsxArgs } from "../targets/index.js";

interface Side {
  /** ServerOptions for lever-server.ts. */
  server?: Record<string, unknown>;
  /** Client settings for lever-client.ts. */
  client?: { protocol?: string; httpVersion?: "1.1" | "2"; windowBytes?: number };
  /** Run server and client without the Buffer-backed base64 methods. */
  noBase64Polyfill?: boolean;
}

interface Lever {
  id: string;
  what: string;
  before: Side;
  after: Side;
}

const defaultWindow = 16 * 1024 * 1024;

const levers: Lever[] = [
  {
    id: "window",
    what: "HTTP/2 windows 64 KB → 16 MiB (client stream + connection), gRPC h2",
    before: { client: { windowBytes: 65535 } },
    after: {},
  },
  {
    id: "compression",
    what: "gzip on image chunks when the client offers it → off, gRPC h2",
    before: { server: { compressStreams: true } },
    after: {},
  },
  {
    id: "splice",
    what: "protobuf + envelope copies of each 1 MB chunk (3) → zero-copy splice, gRPC h2",
    before: { server: { zeroCopyChunks: false } },
    after: {},
  },
  {
    id: "write-ahead",
    what: "wait for drain after every message → 2 MiB written ahead, gRPC h2",
    before: { server: { writeAheadBytes: 0 } },
    after: {},
  },
  {
    id: "base64",
    what: "JavaScript base64 → Buffer-backed toBase64/setFromBase64, Connect JSON h2",
    before: { noBase64Polyfill: true, client: { protocol: "connect-json" } },
    after: { client: { protocol: "connect-json" } },
  },
  {
    id: "chunk-256k",
    what: "chunk size 256 KB → 1 MB (default), gRPC h2",
    before: { server: { chunkBytes: 256_000 } },
    after: {},
  },
  {
    id: "chunk-4m",
    what: "chunk size 4 MB → 1 MB (default), gRPC h2",
    before: { server: { chunkBytes: 4_000_000 } },
    after: {},
  },
  {
    id: "h1-write-ahead",
    what: "wait for drain after every message → 2 MiB written ahead, Connect HTTP/1.1",
    before: { server: { writeAheadBytes: 0 }, client: { protocol: "connect", httpVersion: "1.1" } },
    after: { client: { protocol: "connect", httpVersion: "1.1" } },
  },
];

const usage = `Usage: npm run bench:levers -- [--only ${levers.map((lever) => lever.id).join(",")}] [--rounds N] [--iterations N]`;

/** The flags, checked. */
function parseLeverFlags() {
  const { values } = parseArgs({
    options: {
      only: { type: "string" },
      rounds: { type: "string", default: "3" },
      iterations: { type: "string", default: "7" },
      render: { type: "boolean", default: true },
    },
  });
  const count = (name: string, text: string) => {
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new UsageError(`--${name} must be a whole number of at least 1, got "${text}"`);
    }
    return value;
  };
  const only = values.only?.split(",");
  for (const id of only ?? []) {
    if (!levers.some((lever) => lever.id === id)) {
      throw new UsageError(`--only: unknown lever "${id}"`);
    }
  }
  return {
    only,
    rounds: count("rounds", values.rounds),
    iterations: count("iterations", values.iterations),
    render: values.render,
  };
}

let values: ReturnType<typeof parseLeverFlags>;
try {
  values = parseLeverFlags();
} catch (err) {
  if (!isUsageError(err)) throw err;
  process.stderr.write(`bench:levers: ${(err as Error).message}\n\n${usage}\n`);
  process.exit(2);
}
installCleanupHandlers(() => {});
const { rounds, iterations } = values;
const chosen = levers.filter(
  (lever) => values.only === undefined || values.only.includes(lever.id),
);

const rows: string[] = [];
for (const lever of chosen) {
  const before: number[] = [];
  const after: number[] = [];
  for (let round = 0; round < rounds; round++) {
    before.push(await measure(lever.before));
    after.push(await measure(lever.after));
    process.stderr.write(`${lever.id}: round ${round + 1}/${rounds}\n`);
  }
  const b = median(before);
  const a = median(after);
  rows.push(
    `| ${lever.what} | ${b.toFixed(0)} MB/s | ${a.toFixed(0)} MB/s | ${(a / b).toFixed(2)}× | \`npm run bench:levers -- --only ${lever.id}\` |`,
  );
}
process.stdout.write(
  "| lever | before | after | after/before | command |\n|---|---:|---:|---:|---|\n",
);
process.stdout.write(`${rows.join("\n")}\n`);

if (values.render && values.only === undefined) {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/levers/lever-render.ts", "8"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  process.stdout.write("\nPNG encoding of one noise-1000 image (node-canvas, 4 at a time):\n\n");
  process.stdout.write("| variant | ms/image | bytes/image | MB/s |\n|---|---:|---:|---:|\n");
  for await (const line of createInterface({ input: child.stdout as NodeJS.ReadableStream })) {
    const r = JSON.parse(line) as {
      id?: string;
      msPerImage?: number;
      bytesPerImage?: number;
      mbPerSecond?: number;
      skipped?: string;
    };
    if (r.skipped) {
      process.stdout.write(`(skipped: ${r.skipped})\n`);
      continue;
    }
    process.stdout.write(
      `| ${r.id} | ${r.msPerImage?.toFixed(1)} | ${Math.round(r.bytesPerImage ?? 0)} | ${r.mbPerSecond?.toFixed(0)} |\n`,
    );
  }
}

/** Starts a server and a client for one side of a lever; the client's median MB/s. */
async function measure(side: Side): Promise<number> {
  const flags = side.noBase64Polyfill ? ["--no-base64-polyfill"] : [];
  const { command, args } = tsxArgs("bench/levers/lever-server.ts", [
    JSON.stringify(side.server ?? {}),
    ...flags,
  ]);
  const server = await startListening({
    name: "lever-server",
    command,
    args,
    readyPattern: /listening on (\S+)/,
  });
  try {
    const url = server.url;
    const client = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "bench/levers/lever-client.ts",
        JSON.stringify({
          url,
          protocol: side.client?.protocol ?? "grpc",
          httpVersion: side.client?.httpVersion ?? "2",
          windowBytes: side.client?.windowBytes ?? defaultWindow,
          iterations,
          model: "noise-1000",
          batch: 10,
        }),
        ...flags,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let output = "";
    client.stdout?.on("data", (data: Buffer) => {
      output += data.toString();
    });
    const [code] = (await once(client, "exit")) as [number];
    if (code !== 0) throw new Error(`lever client exited ${code}`);
    return (JSON.parse(output) as { medianMBps: number }).medianMBps;
  } finally {
    await server.stop();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] as number;
}
