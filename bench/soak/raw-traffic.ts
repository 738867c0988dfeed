/**
 * The soak's hostile and careless traffic, written byte by byte: slow
 * readers (HTTP/2 clients that never open their window), reset storms
 * (streams opened and reset at once on one h2c connection), connections
 * that stall (nothing, half a preface, half a request line, a body that
 * stops), and the malformed-input corpus. Library module of
 * bench/soak/run-soak.ts.
 */
import net from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import { InferenceRequestSchema } from "../../src/gen/modelmora/inference_pb.js";
import { type CorpusCase, corpus } from "../../test/bad-input/corpus.js";
import { checkRow, sendRow } from "../../test/bad-input/corpus-runner.js";
import {
  connectH2,
  dataFrame,
  encodeHeaderBlock,
  type H2Connection,
  headersFrame,
  rstStreamFrame,
} from "../../test/robustness/h2/index.js";
import type { Tally } from "./tally.js";

const streamPath = "/modelmora.InferenceService/StreamInference";

/** A gRPC request body: one message in a 5-byte envelope. */
function grpcRequest(modelId: string, prompt: string, batchSize: number): Buffer {
  const message = toBinary(
    InferenceRequestSchema,
    create(InferenceRequestSchema, { modelId, prompt, batchSize }),
  );
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.byteLength, 1);
  return Buffer.concat([head, message]);
}

const grpcHeaders = {
  ":method": "POST",
  ":scheme": "http",
  ":path": streamPath,
  ":authority": "soak",
  "content-type": "application/grpc",
  te: "trailers",
};

/** Slow readers in flight: stop() drops them and records how each stood. */
export interface SlowReaders {
  stop(): void;
}

/**
 * Opens `count` HTTP/2 connections, one noise-1000 × 10 stream each, whose
 * client never sends WINDOW_UPDATE: the server can send 64 KiB and must
 * then hold, refuse or wait, within its memory budget.
 */
export async function startSlowReaders(
  url: string,
  count: number,
  runId: string,
  tally: Tally,
): Promise<SlowReaders> {
  const readers: [H2Connection, number][] = [];
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      try {
        const h2 = await connectH2({ url });
        const id = h2.request(grpcHeaders, {
          body: grpcRequest("noise-1000", `slow ${runId} ${i}`, 10),
        });
        readers.push([h2, id]);
      } catch (err) {
        tally.record("slow-reader", "connect_error", false, (err as Error).message);
      }
    }),
  );
  return {
    stop() {
      for (const [h2, id] of readers) {
        const state = h2.stream(id);
        // Held (sent up to the window), refused or ended (a trailers-only
        // answer), or still waiting for room in the budget: all the
        // server's to choose. A connection the server closed is not.
        const outcome =
          state.resetCode !== undefined
            ? "reset"
            : state.ended
              ? state.dataBytes > 0
                ? "ended"
                : "refused"
              : h2.isClosed
                ? "closed_by_server"
                : state.dataBytes > 0
                  ? "held"
                  : "waiting";
        tally.record("slow-reader", outcome, outcome !== "closed_by_server");
        h2.destroy();
      }
    },
  };
}

/**
 * 300 gRPC streams opened and reset at once on one h2c connection
 * (HEADERS + DATA + RST_STREAM each), then the client leaves.
 */
export async function resetStorm(
  url: string,
  runId: string,
  tally: Tally,
  streams = 300,
): Promise<void> {
  try {
    const h2 = await connectH2({ url });
    await h2.settings();
    const frames: Buffer[] = [];
    const block = encodeHeaderBlock(grpcHeaders);
    for (let i = 0; i < streams; i++) {
      const id = h2.nextStreamId();
      frames.push(
        headersFrame(id, block),
        dataFrame(id, grpcRequest("noise-1000", `reset ${runId} ${i}`, 10), true),
        rstStreamFrame(id),
      );
    }
    h2.send(Buffer.concat(frames));
    h2.end();
    await h2.closed;
    tally.record("reset-storm", `${streams} streams reset`, true);
  } catch (err) {
    tally.record("reset-storm", "connect_error", false, (err as Error).message);
  }
}

/** Ways a connection can stall, and what is sent before it does. */
const stalls: readonly [string, string][] = [
  ["nothing", ""],
  ["half a preface", "PRI * HTTP/2.0\r\n"],
  ["half a request line", "GET /hea"],
  [
    "a body that stops",
    'POST /infer/stream HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"model_id":',
  ],
];

/**
 * Opens a connection that stalls and waits for the server to close it;
 * it must within `limitMs` (the server's timeout plus slack).
 */
export function stalledConnection(
  url: string,
  which: number,
  limitMs: number,
  tally: Tally,
): Promise<void> {
  const [name, bytes] = stalls[which % stalls.length] as [string, string];
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    socket.on("error", () => {});
    let leftOpen = false;
    const timer = setTimeout(() => {
      leftOpen = true;
      tally.record("stall", "left_open", false, `${name}: still open after ${limitMs} ms`);
      socket.destroy();
    }, limitMs);
    socket.once("connect", () => {
      if (bytes !== "") socket.write(bytes);
    });
    socket.once("close", () => {
      clearTimeout(timer);
      if (!leftOpen) tally.record("stall", "closed", true);
      resolve();
    });
    socket.resume();
  });
}

/** Sends corpus row `index` (cycling) and checks the answer. */
export async function badInput(url: string, index: number, tally: Tally): Promise<void> {
  const row = corpus[index % corpus.length] as CorpusCase;
  let seen: Awaited<ReturnType<typeof sendRow>> | undefined;
  try {
    seen = await sendRow(url, row);
    checkRow(row, seen);
    tally.record("bad-input", row.expect.code ?? `http_${row.expect.http ?? "reset"}`, true);
  } catch (err) {
    // A well-formed row a busy server refuses for a limit is not a fault.
    const refused = row.expect.code === "ok" && seen?.code === "resource_exhausted";
    tally.record(
      "bad-input",
      refused ? "resource_exhausted" : "mismatch",
      refused,
      `${row.group.name} "${row.name}": ${(err as Error).message.split("\n")[0]}`,
    );
  }
}
