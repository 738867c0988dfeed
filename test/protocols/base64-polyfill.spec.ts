/**
 * Unit tests of src/base64-polyfill.ts, the Buffer-backed
 * Uint8Array.prototype.toBase64 / setFromBase64 that protobuf-es uses for
 * `bytes` fields in JSON, and of protobuf-es's JSON with it in place.
 */
// First, as in the server: protobuf-es reads the methods when it loads.
import "../../src/base64-polyfill.js";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { create, fromJson, toJson } from "@bufbuild/protobuf";
import { InferenceResponseSchema } from "../../src/index.js";

interface Base64Array extends Uint8Array {
  toBase64(options?: { alphabet?: "base64" | "base64url"; omitPadding?: boolean }): string;
  setFromBase64(text: string): { read: number; written: number };
}

const asBase64 = (bytes: Uint8Array) => bytes as Base64Array;

describe("base64 polyfill", () => {
  it("provides toBase64 and setFromBase64 on Uint8Array", () => {
    const proto = Uint8Array.prototype as unknown as Partial<Base64Array>;
    assert.equal(typeof proto.toBase64, "function");
    assert.equal(typeof proto.setFromBase64, "function");
  });

  it("encodes like Buffer in every alphabet and padding, for every length", () => {
    for (const length of [0, 1, 2, 3, 4, 5, 31, 32, 33, 1000, 1_000_000]) {
      const bytes = new Uint8Array(randomBytes(length));
      const buffer = Buffer.from(bytes);
      const padded = buffer.toString("base64");
      const url = buffer.toString("base64url");
      assert.equal(asBase64(bytes).toBase64(), padded, `length ${length}`);
      assert.equal(asBase64(bytes).toBase64({ alphabet: "base64" }), padded);
      assert.equal(asBase64(bytes).toBase64({ omitPadding: true }), padded.replace(/=+$/, ""));
      assert.equal(
        asBase64(bytes).toBase64({ alphabet: "base64url" }),
        url.padEnd(Math.ceil(url.length / 4) * 4, "="),
      );
      assert.equal(asBase64(bytes).toBase64({ alphabet: "base64url", omitPadding: true }), url);
    }
  });

  it("encodes only the view, not the whole underlying buffer", () => {
    const whole = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const view = whole.subarray(2, 5);
    assert.equal(asBase64(view).toBase64(), Buffer.from([3, 4, 5]).toString("base64"));
  });

  it("round-trips through setFromBase64", () => {
    for (const length of [0, 1, 2, 3, 10, 1000, 65_537]) {
      const bytes = new Uint8Array(randomBytes(length));
      const text = asBase64(bytes).toBase64();
      const target = new Uint8Array(length);
      const result = asBase64(target).setFromBase64(text);
      assert.deepEqual(result, { read: text.length, written: length });
      assert.deepEqual(target, bytes);
    }
  });

  it("decodes into a view without touching the bytes around it", () => {
    const whole = new Uint8Array(10).fill(0xee);
    const result = asBase64(whole.subarray(3, 6)).setFromBase64("AQID");
    assert.deepEqual(result, { read: 4, written: 3 });
    assert.deepEqual([...whole], [0xee, 0xee, 0xee, 1, 2, 3, 0xee, 0xee, 0xee, 0xee]);
  });

  it("decodes URL-alphabet characters to the right bytes, or rejects them", () => {
    // Buffer's decoder reads - and _ as + and /, which gives the bytes
    // protobuf-es's own decoder would; throwing would be as correct.
    const target = new Uint8Array(2);
    try {
      asBase64(target).setFromBase64("-_8=");
    } catch (err) {
      assert.ok(err instanceof SyntaxError);
      return;
    }
    assert.deepEqual([...target], [0xfb, 0xff]);
  });

  for (const [name, text] of [
    ["a character outside the alphabet", "AQ*D"],
    ["missing padding", "AQI"],
    ["white space", "AQ ID"],
    ["a line break", "AQID\nAQID"],
    ["too much padding", "A==="],
    ["padding in the middle", "AQ==AQID"],
  ]) {
    it(`rejects ${name}, so protobuf-es falls back to its own decoder`, () => {
      assert.throws(() => asBase64(new Uint8Array(16)).setFromBase64(text as string), SyntaxError);
    });
  }

  it("rejects text longer than the target", () => {
    assert.throws(() => asBase64(new Uint8Array(2)).setFromBase64("AQID"), SyntaxError);
  });
});

describe("protobuf-es JSON with the polyfill", () => {
  it("writes bytes fields as padded standard base64", () => {
    const data = new Uint8Array(randomBytes(1001));
    const json = toJson(InferenceResponseSchema, create(InferenceResponseSchema, { data })) as {
      data: string;
    };
    assert.equal(json.data, Buffer.from(data).toString("base64"));
  });

  for (const [name, text, bytes] of [
    ["strict base64", "+/8=", [0xfb, 0xff]],
    ["base64url", "-_8=", [0xfb, 0xff]],
    ["unpadded base64url", "-_8", [0xfb, 0xff]],
    ["unpadded base64", "AQI", [1, 2]],
  ] as const) {
    it(`reads ${name}`, () => {
      const message = fromJson(InferenceResponseSchema, { data: text });
      assert.deepEqual([...message.data], bytes);
    });
  }

  it("round-trips a 1 MB chunk", () => {
    const data = new Uint8Array(randomBytes(1_000_000));
    const json = toJson(InferenceResponseSchema, create(InferenceResponseSchema, { data }));
    assert.ok(Buffer.from(fromJson(InferenceResponseSchema, json).data).equals(Buffer.from(data)));
  });
});
