/**
 * Many concurrent calls must not add a listener per call to one shared
 * emitter (the server's shutdown signal, say): Node reports that as
 * MaxListenersExceededWarning past 10, and it is a leak while calls run.
 * The server runs in this process, so its warnings reach process "warning".
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { TestServer } from "../support/index.js";
import {
  assertCode,
  callStream,
  type ProtocolCase,
  protocolCases,
  startServer,
} from "../support/index.js";

describe("no MaxListenersExceededWarning", () => {
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => {
    warnings.push(warning);
  };
  before(() => {
    process.on("warning", onWarning);
  });
  after(() => {
    process.off("warning", onWarning);
  });

  for (const protocolCase of protocolCases) {
    it(`20 concurrent ${protocolCase.name} streams`, async () => {
      // A server of its own: Node warns once per emitter, so a shared one
      // would hide a second leak.
      const srv: TestServer = await startServer();
      const seen = warnings.length;
      try {
        await concurrentCalls(srv, protocolCase);
      } finally {
        await srv.close();
      }
      // process.emitWarning reports on the next tick: let it.
      await new Promise((resolve) => setImmediate(resolve));
      const leaks = warnings
        .slice(seen)
        .filter((warning) => warning.name === "MaxListenersExceededWarning");
      assert.deepEqual(
        // The first frames say who added the listeners.
        leaks.map((warning) =>
          (warning.stack ?? warning.message).split("\n").slice(0, 6).join("\n"),
        ),
        [],
      );
    });
  }
});

async function concurrentCalls(srv: TestServer, protocolCase: ProtocolCase): Promise<void> {
  const outcomes = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      callStream(srv, protocolCase, {
        modelId: "thumb-64",
        prompt: `listeners ${protocolCase.name} ${i}`,
        batchSize: 4,
      }),
    ),
  );
  for (const outcome of outcomes) assertCode(outcome, undefined);
}
