/**
 * The parts of streamImages that read responses, where the server can't
 * show them failing: ResponseDecoder and ImageAssembler as units, and a
 * scripted HTTP/2 server (node:http2, answering gRPC, gRPC-Web and Connect)
 * sending what a faulty server or network would — an image whose SHA-256
 * is wrong, a stream that stops inside an image, a chunk out of place — so
 * that each fails the call with its code.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  Code,
  type ConnectError,
  createInferenceClient,
  type DecodedResponse,
  ImageAssembler,
  type InferenceResponse,
  InferenceResponseSchema,
  ResponseDecoder,
} from "../../src/index.js";
import { assertConnectError, waitFor } from "../support/index.js";

/** One InferenceResponse chunk of image `index`, with the metadata the server sends. */
function chunkOf(
  image: Uint8Array,
  index: number,
  offset: number,
  length: number,
  overrides: Record<string, string> = {},
): InferenceResponse {
  return create(InferenceResponseSchema, {
    requestId: "test",
    chunkIndex: Math.floor(offset / 4),
    data: image.subarray(offset, offset + length),
    metadata: {
      image_index: String(index),
      image_count: "1",
      image_bytes: String(image.byteLength),
      image_sha256: createHash("sha256").update(image).digest("hex"),
      chunk_offset: String(offset),
      content_type: "image/png",
      width: "2",
      height: "3",
      ...overrides,
    },
  });
}

function envelope(flags: number, message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.byteLength);
  out[0] = flags;
  out.writeUInt32BE(message.byteLength, 1);
  out.set(message, 5);
  return out;
}

/** Decodes body in pieces cut at `cuts`; returns what the decoder reported. */
function decodeIn(body: Uint8Array, cuts: number[]) {
  const responses: DecodedResponse[] = [];
  const controls: { flags: number; data: Uint8Array }[] = [];
  const decoder = new ResponseDecoder({
    onResponse: (decoded) => responses.push(decoded),
    onControl: (flags, data) => controls.push({ flags, data: Uint8Array.from(data) }),
  });
  let at = 0;
  for (const cut of [...cuts, body.byteLength]) {
    decoder.push(body.subarray(at, cut));
    at = cut;
  }
  decoder.end();
  return { responses, controls };
}

const bytes = Uint8Array.from({ length: 40 }, (_, i) => (i * 7 + 3) % 256);

describe("ResponseDecoder", () => {
  const messages = [chunkOf(bytes, 0, 0, 16), chunkOf(bytes, 0, 16, 24)];
  const body = Buffer.concat([
    ...messages.map((message) => envelope(0, toBinary(InferenceResponseSchema, message))),
    envelope(0x80, Buffer.from("grpc-status: 0\r\n")),
  ]);

  it("decodes the same wherever the network cuts the body, data as views of the input", () => {
    const whole = decodeIn(body, []);
    assert.equal(whole.responses.length, 2);
    assert.equal(whole.controls.length, 1);
    for (let cut = 1; cut < body.byteLength; cut++) {
      const { responses, controls } = decodeIn(body, [cut]);
      for (const [i, decoded] of responses.entries()) {
        const expected = messages[i] as InferenceResponse;
        assert.deepEqual(decoded.response.metadata, expected.metadata, `cut at ${cut}`);
        assert.equal(decoded.response.chunkIndex, expected.chunkIndex);
        assert.equal(decoded.response.data.byteLength, 0, "data is not decoded into the message");
        assert.deepEqual(Buffer.concat(decoded.dataPieces), Buffer.from(expected.data));
        assert.equal(decoded.dataBytes, expected.data.byteLength);
      }
      assert.equal(Buffer.from(controls[0]?.data ?? []).toString(), "grpc-status: 0\r\n");
    }
    // Byte by byte.
    const single = decodeIn(
      body,
      Array.from({ length: body.byteLength - 1 }, (_, i) => i + 1),
    );
    assert.equal(single.responses.length, 2);
    const whole0 = whole.responses[0] as DecodedResponse;
    assert.equal(whole0.dataPieces.length, 1);
    assert.equal(
      (whole0.dataPieces[0] as Uint8Array).buffer,
      body.buffer,
      "a piece is a view of the delivered buffer, not a copy",
    );
  });

  it("finds data wherever it is among the fields (protobuf field order is free)", () => {
    const message = messages[0] as InferenceResponse;
    const withoutData = toBinary(InferenceResponseSchema, { ...message, data: new Uint8Array(0) });
    const dataField = Buffer.concat([
      Buffer.from([0x22, message.data.byteLength]),
      Buffer.from(message.data),
    ]);
    const reordered = Buffer.concat([withoutData, dataField]);
    const { responses } = decodeIn(envelope(0, reordered), [3, 20]);
    assert.deepEqual(Buffer.concat(responses[0]?.dataPieces ?? []), Buffer.from(message.data));
    assert.deepEqual(responses[0]?.response.metadata, message.metadata);
  });

  it("refuses a compressed message, a message over the limit and a body cut short", () => {
    const message = toBinary(InferenceResponseSchema, messages[0] as InferenceResponse);
    const decoder = (maxMessageBytes?: number) =>
      new ResponseDecoder(
        { onResponse: () => undefined, onControl: () => undefined },
        { maxMessageBytes },
      );
    assert.throws(
      () => decoder().push(envelope(1, message)),
      (err: ConnectError) => err.code === Code.Internal && /compressed/.test(err.rawMessage),
    );
    assert.throws(
      () => decoder(10).push(envelope(0, message)),
      (err: ConnectError) =>
        err.code === Code.ResourceExhausted && /maxMessageBytes/.test(err.rawMessage),
    );
    const cut = decoder();
    cut.push(envelope(0, message).subarray(0, 20));
    assert.throws(
      () => cut.end(),
      (err: ConnectError) =>
        err.code === Code.Internal && /ended inside a message/.test(err.rawMessage),
    );
    const inside = decoder();
    assert.throws(
      () => inside.push(envelope(0, message.subarray(0, message.byteLength - 3))),
      // The data field's length already says it cannot fit: refused before its bytes arrive.
      (err: ConnectError) =>
        err.code === Code.Internal && /runs past the end of its message/.test(err.rawMessage),
    );
    // A message whose last byte starts a varint (a tag) that never ends.
    const halfTag = decoder();
    assert.throws(
      () => halfTag.push(envelope(0, Buffer.concat([message, Buffer.from([0x80])]))),
      (err: ConnectError) => err.code === Code.Internal && /inside a field/.test(err.rawMessage),
    );
  });
});

describe("ImageAssembler", () => {
  const add = (assembler: ImageAssembler, message: InferenceResponse) =>
    assembler.add(message, [message.data]);

  it("writes chunks in place and hands on the image once whole and checked", () => {
    const assembler = new ImageAssembler();
    assert.equal(add(assembler, chunkOf(bytes, 0, 0, 16)), undefined);
    const image = add(assembler, chunkOf(bytes, 0, 16, 24));
    assert.ok(image);
    assert.deepEqual(image.bytes, Buffer.from(bytes));
    assert.deepEqual([image.index, image.width, image.height], [0, 2, 3]);
    assembler.finish();
  });

  it("fails with DATA_LOSS on a wrong SHA-256, a chunk out of place, too many bytes or an unfinished image", () => {
    const wrongHash = new ImageAssembler();
    add(wrongHash, chunkOf(bytes, 0, 0, 16, { image_sha256: "ab".repeat(32) }));
    assert.throws(
      () => add(wrongHash, chunkOf(bytes, 0, 16, 24, { image_sha256: "ab".repeat(32) })),
      (err: ConnectError) => err.code === Code.DataLoss && /SHA-256/.test(err.rawMessage),
    );
    const skipped = new ImageAssembler();
    assert.throws(
      () => add(skipped, chunkOf(bytes, 0, 16, 24)),
      (err: ConnectError) =>
        err.code === Code.DataLoss && /offset 16, expected 0/.test(err.rawMessage),
    );
    const tooMany = new ImageAssembler();
    assert.throws(
      () => add(tooMany, chunkOf(bytes, 0, 0, 40, { image_bytes: "30" })),
      (err: ConnectError) =>
        err.code === Code.DataLoss && /more than the 30 bytes/.test(err.rawMessage),
    );
    const unfinished = new ImageAssembler();
    add(unfinished, chunkOf(bytes, 0, 0, 16));
    assert.throws(
      () => unfinished.finish(),
      (err: ConnectError) =>
        err.code === Code.DataLoss && /after 16 of its 40 bytes/.test(err.rawMessage),
    );
    const missing = new ImageAssembler();
    add(missing, chunkOf(bytes, 0, 0, 40, { image_count: "2" }));
    assert.throws(
      () => missing.finish(),
      (err: ConnectError) =>
        err.code === Code.DataLoss && /after 1 of 2 images/.test(err.rawMessage),
    );
  });

  it("fails with INTERNAL on missing metadata and RESOURCE_EXHAUSTED past maxImageBytes", () => {
    assert.throws(
      () => add(new ImageAssembler(), chunkOf(bytes, 0, 0, 16, { image_bytes: "" })),
      (err: ConnectError) => err.code === Code.Internal && /image_bytes/.test(err.rawMessage),
    );
    assert.throws(
      () => add(new ImageAssembler({ maxImageBytes: 39 }), chunkOf(bytes, 0, 0, 16)),
      (err: ConnectError) =>
        err.code === Code.ResourceExhausted && /maxImageBytes/.test(err.rawMessage),
    );
  });
});

/** What the scripted server answers with: the chunks, then an OK status. */
let script: InferenceResponse[] = [];
/** When true the server sends the script but never ends the stream. */
let holdOpen = false;

describe("streamImages against a faulty server", () => {
  let server: http2.Http2Server;
  let baseUrl: string;
  /** Streams the server saw reset by the client (RST_STREAM CANCEL). */
  let cancelled = 0;

  before(async () => {
    server = http2.createServer();
    server.on("stream", (stream, headers) => {
      stream.on("error", () => undefined);
      stream.on("close", () => {
        if (stream.rstCode === http2.constants.NGHTTP2_CANCEL) cancelled++;
      });
      const contentType = String(headers["content-type"]);
      stream.respond({ ":status": 200, "content-type": contentType }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      for (const message of script) {
        stream.write(envelope(0, toBinary(InferenceResponseSchema, message)));
      }
      if (holdOpen) return;
      if (contentType.startsWith("application/grpc-web")) {
        stream.write(envelope(0x80, Buffer.from("grpc-status: 0\r\n")));
      } else if (contentType.startsWith("application/connect")) {
        stream.write(envelope(0x02, Buffer.from("{}")));
      }
      stream.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  for (const protocol of ["grpc", "grpc-web", "connect"] as const) {
    it(`${protocol}: an intact stream passes; corrupt ones fail with DATA_LOSS or INTERNAL`, async () => {
      const { client, close } = createInferenceClient({ baseUrl, protocol });
      const drain = async () => {
        const images = [];
        for await (const image of client.streamImages({ modelId: "m", batchSize: 1 })) {
          images.push(image);
        }
        return images;
      };
      try {
        script = [chunkOf(bytes, 0, 0, 16), chunkOf(bytes, 0, 16, 24)];
        const images = await drain();
        assert.deepEqual(images[0]?.bytes, Buffer.from(bytes));

        const flipped = Uint8Array.from(bytes);
        flipped[20] = (flipped[20] as number) ^ 1;
        const declared = createHash("sha256").update(bytes).digest("hex");
        script = [
          chunkOf(flipped, 0, 0, 16, { image_sha256: declared }),
          chunkOf(flipped, 0, 16, 24, { image_sha256: declared }),
        ];
        await assertConnectError(drain(), Code.DataLoss, /SHA-256 [0-9a-f]{64} differs/);

        script = [chunkOf(bytes, 0, 0, 16)];
        await assertConnectError(drain(), Code.DataLoss, /after 16 of its 40 bytes/);

        script = [chunkOf(bytes, 0, 16, 24)];
        await assertConnectError(drain(), Code.DataLoss, /offset 16, expected 0/);

        script = [chunkOf(bytes, 0, 0, 16, { image_index: "first" })];
        await assertConnectError(drain(), Code.Internal, /image_index/);
      } finally {
        close();
      }
    });
  }

  it("a failed check cancels the call: the client resets the stream the server holds open", async () => {
    const before = cancelled;
    script = [chunkOf(bytes, 0, 0, 40, { image_sha256: "cd".repeat(32) })];
    holdOpen = true;
    const { client, close } = createInferenceClient({ baseUrl, protocol: "grpc" });
    try {
      await assertConnectError(
        (async () => {
          for await (const _ of client.streamImages({ modelId: "m", batchSize: 1 })) {
            // fails before the first image
          }
        })(),
        Code.DataLoss,
      );
      await waitFor(
        () => cancelled === before + 1,
        "the server to see the stream reset with CANCEL",
      );
    } finally {
      holdOpen = false;
      close();
    }
  });
});
