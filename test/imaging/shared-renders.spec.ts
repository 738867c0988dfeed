import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  createImageGenerator,
  loadRenderer,
  type ModelProfile,
  modelProfiles,
} from "../../src/imaging/index.js";

const noise = modelProfiles.find((model) => model.id === "noise-1000") as ModelProfile;
const renderer = loadRenderer();

describe("shared renders", () => {
  it("draws an image once for every caller that asks while it is drawn", async () => {
    const drawn: boolean[] = [];
    const generator = createImageGenerator({
      renderer,
      cacheBytes: 0,
      onImage: (image) => drawn.push(image.cached),
    });
    const [a, b] = await Promise.all([
      generator.generate(noise, "shared", 0),
      generator.generate(noise, "shared", 0),
    ]);
    assert.equal(a.sha256, b.sha256);
    assert.deepEqual(drawn, [false, true], "one render, one caller served from it");
  });

  it("drops a queued render once its only caller gives up: it is never drawn", async () => {
    const drawn: string[] = [];
    const generator = createImageGenerator({
      renderer,
      cacheBytes: 0,
      maxConcurrentRenders: 1,
      onImage: (image) => drawn.push(`${image.index}`),
    });
    const first = generator.generate(noise, "queue", 0);
    const abort = new AbortController();
    const queued = generator.generate(noise, "queue", 1, abort.signal);
    assert.deepEqual(generator.renderStats(), { running: 1, queued: 1 });
    const reason = new ConnectError("client went away", Code.Canceled);
    abort.abort(reason);
    await assert.rejects(queued, (err) => err === reason);
    assert.deepEqual(generator.renderStats(), { running: 1, queued: 0 });
    await first;
    assert.deepEqual(drawn, ["0"], "the abandoned render was drawn");
  });

  it("keeps a queued render another caller still waits for", async () => {
    const generator = createImageGenerator({ renderer, cacheBytes: 0, maxConcurrentRenders: 1 });
    const first = generator.generate(noise, "keep", 0);
    const abort = new AbortController();
    const leaving = generator.generate(noise, "keep", 1, abort.signal);
    const staying = generator.generate(noise, "keep", 1);
    abort.abort(new ConnectError("gone", Code.Canceled));
    await assert.rejects(leaving);
    const [, image] = await Promise.all([first, staying]);
    assert.equal(image.index, 1);
  });

  it("answers a caller whose render is already drawing only once it has finished", async () => {
    const generator = createImageGenerator({ renderer, cacheBytes: 0, maxConcurrentRenders: 1 });
    const abort = new AbortController();
    const drawing = generator.generate(noise, "running", 0, abort.signal);
    assert.equal(generator.renderStats().running, 1);
    abort.abort(new ConnectError("gone", Code.Canceled));
    await assert.rejects(drawing);
    assert.deepEqual(generator.renderStats(), { running: 0, queued: 0 });
  });
});
