/**
 * Metric labels come from known routes only: anyone can send requests to
 * made-up paths, and those must neither crowd the known routes out of their
 * labels nor put client text on the public /metrics.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { TestServer } from "../support/index.js";
import { httpRequest, startServer, sumOf } from "../support/index.js";
import { scrape } from "./support.js";

describe("metric labels are bounded", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv.close();
  });

  it("70 unauthenticated GET /junk-N leave /healthz under its own label and no junk path on /metrics", async () => {
    for (let i = 0; i < 70; i++) {
      const response = await httpRequest(srv.url, { method: "GET", path: `/junk-${i}` });
      assert.equal(response.status, 404);
    }
    for (const httpVersion of ["1.1", "2"] as const) {
      const response = await httpRequest(srv.url, { method: "GET", path: "/healthz", httpVersion });
      assert.equal(response.status, 200);
    }
    const samples = await scrape(srv.url);
    const text = JSON.stringify(samples);
    assert.doesNotMatch(text, /junk/, "a client path is a label value on /metrics");
    assert.equal(
      sumOf(samples, "modelmora_calls_total", { method: "GET /healthz", code: "ok" }),
      2,
      "GET /healthz is not counted under its own label",
    );
    assert.equal(
      sumOf(samples, "modelmora_calls_total", { method: "unknown", code: "not_found" }),
      70,
      'the unknown paths are not counted as method="unknown"',
    );
    assert.equal(sumOf(samples, "modelmora_calls_total", { method: "other" }), 0);
  });
});
