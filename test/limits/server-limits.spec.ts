/**
 * The server's limits, run as the CLI: per-key rate limits, daily byte quotas and concurrent
 * stream caps (per key and per server), set by CLI flags, answer
 * RESOURCE_EXHAUSTED over every protocol, and REST 429 with Retry-After.
 * Each protocol uses a key of its own, so its limits start fresh.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import {
  assertCode,
  assertRefused,
  type CliServer,
  callListModels,
  callStream,
  holdStream,
  httpRequest,
  type Outcome,
  type ProtocolCase,
  protocolCases,
  smallRequest,
  startCli,
  waitFor,
} from "../support/index.js";

/** One key per protocol (and a few spare), as MODELMORA_API_KEYS gives them. */
const keyOf = (name: string) => `key-${name}-0123456789abcdef`;
const keyNames = [
  ...protocolCases.flatMap((c) => [c.protocol, `${c.protocol}-other`]),
  "warm",
  "holder",
];
const apiKeysEnv = keyNames.map((name) => `${name}:${keyOf(name)}`).join(",");
const headersOf = (name: string) => ({ "x-api-key": keyOf(name) });

/** Asserts a RESOURCE_EXHAUSTED with a whole-second retry-after of at least 1. */
function assertExhausted(outcome: Outcome, protocolCase: ProtocolCase, message: RegExp): void {
  assertRefused(outcome, protocolCase, Code.ResourceExhausted, message);
  assert.match(outcome.retryAfter ?? "", /^\d+$/, `retry-after of ${protocolCase.name}`);
  assert.ok(Number(outcome.retryAfter) >= 1, "retry-after is at least 1 s");
}

describe("rate limit: --rate-limit-rps 1 --rate-limit-burst 1", () => {
  let cli: CliServer;
  before(async () => {
    cli = await startCli(["--rate-limit-rps", "1", "--rate-limit-burst", "1"], {
      env: { MODELMORA_API_KEYS: apiKeysEnv },
    });
    // ListModels draws one image of each model the first time: do it now,
    // with a key of its own, so the calls below are quick.
    assertCode(
      await callListModels(cli, protocolCases[0] as ProtocolCase, { headers: headersOf("warm") }),
      undefined,
    );
  });
  after(async () => {
    await cli?.stop();
  });

  for (const protocolCase of protocolCases) {
    it(`${protocolCase.name}: the second immediate call is RESOURCE_EXHAUSTED with retry-after`, async () => {
      const headers = headersOf(protocolCase.protocol);
      assertCode(await callListModels(cli, protocolCase, { headers }), undefined, "first call");
      const second = await callStream(cli, protocolCase, smallRequest, { headers });
      assertExhausted(second, protocolCase, /rate limit of 1 requests\/s for key '[a-z-]+'/);
    });
  }
});

describe("daily quota: --quota-bytes-per-day 5000", () => {
  let cli: CliServer;
  before(async () => {
    cli = await startCli(["--quota-bytes-per-day", "5000"], {
      env: { MODELMORA_API_KEYS: apiKeysEnv },
    });
  });
  after(async () => {
    await cli?.stop();
  });

  for (const protocolCase of protocolCases) {
    it(`${protocolCase.name}: streams until 5000 bytes, then RESOURCE_EXHAUSTED`, async () => {
      const headers = headersOf(protocolCase.protocol);
      // Two thumb-64 images are about 3.5 KB: the first call fits, the second
      // runs over (RPCs end with RESOURCE_EXHAUSTED; a REST body already
      // under way can only be cut off), the next is refused before it starts.
      const outcomes: Outcome[] = [];
      for (let i = 0; i < 10; i++) {
        const outcome = await callStream(cli, protocolCase, smallRequest, { headers });
        outcomes.push(outcome);
        if (outcome.code === Code.ResourceExhausted && outcome.bytes === 0) break;
      }
      assertCode(outcomes[0] as Outcome, undefined, "the first call, within the quota");
      const refused = outcomes[outcomes.length - 1] as Outcome;
      assertExhausted(refused, protocolCase, /daily quota of 5000 bytes for key '[a-z-]+'/);
      if (protocolCase.protocol !== "rest") {
        const streamed = outcomes.reduce((sum, outcome) => sum + outcome.bytes, 0);
        assert.ok(streamed <= 5000, `${streamed} image bytes were sent past a 5000-byte quota`);
        // The call that ran over ended with the quota error, not silently.
        const cut = outcomes.find((outcome) => outcome.bytes > 0 && outcome.code !== undefined);
        if (cut !== undefined) assertCode(cut, Code.ResourceExhausted, "the call that ran over");
      }
      // Another key still has its whole quota.
      assertCode(
        await callStream(cli, protocolCase, smallRequest, {
          headers: headersOf(`${protocolCase.protocol}-other`),
        }),
        undefined,
        "another key",
      );
    });
  }
});

describe("concurrent streams: --max-streams-per-key 1 --max-streams 2", () => {
  let cli: CliServer;
  before(async () => {
    cli = await startCli(["--max-streams-per-key", "1", "--max-streams", "2"], {
      env: { MODELMORA_API_KEYS: apiKeysEnv },
    });
  });
  after(async () => {
    await cli?.stop();
  });

  for (const protocolCase of protocolCases) {
    it(`${protocolCase.name}: a stream past either limit is RESOURCE_EXHAUSTED until one ends`, async () => {
      const key = protocolCase.protocol;
      // Held without being read: noise-1000, batch 32, stays in flight.
      const first = await holdStream(cli, { headers: headersOf(key) });
      try {
        assertExhausted(
          await callStream(cli, protocolCase, smallRequest, { headers: headersOf(key) }),
          protocolCase,
          /concurrent stream limit of 1 for key/,
        );
        // ListModels is not a stream: the stream limit leaves it alone.
        assertCode(await callListModels(cli, protocolCase, { headers: headersOf(key) }), undefined);

        const second = await holdStream(cli, { headers: headersOf("holder") });
        try {
          assertExhausted(
            await callStream(cli, protocolCase, smallRequest, {
              headers: headersOf(`${key}-other`),
            }),
            protocolCase,
            /server is at its limit of 2 concurrent streams/,
          );
        } finally {
          assertCode(await second.cancel(), Code.Canceled, "the second held stream");
        }
      } finally {
        assertCode(await first.cancel(), Code.Canceled, "the first held stream");
      }
      // The slot frees once the server has seen the cancel: poll for it.
      let outcome: Outcome | undefined;
      await waitFor(async () => {
        outcome = await callStream(cli, protocolCase, smallRequest, { headers: headersOf(key) });
        return outcome.code !== Code.ResourceExhausted;
      }, "a stream to be allowed again after the held one was cancelled");
      assertCode(outcome as Outcome, undefined, "the stream after the cancel");
    });
  }

  it("reports no call in flight once the held streams are gone", async () => {
    await waitFor(async () => {
      const response = await httpRequest(cli, { method: "GET", path: "/healthz" });
      // The health call itself is the one call in flight.
      return JSON.parse(response.body.toString("utf8")).active_calls === 1;
    }, "active_calls to drop back");
  });
});
