/**
 * @grpc/grpc-js baseline: modelmora.InferenceService on the standard Node
 * gRPC server, loaded from proto/modelmora/inference.proto with
 * @grpc/proto-loader. It streams the same images (the project's generator,
 * cache and look-ahead), cut at --chunk-bytes, with the same metadata as the
 * server under test, honouring backpressure (write() → 'drain').
 *
 *   node --import tsx bench/baselines/grpc-js-server.ts [--port 0]
 *
 * Flags: the common ones of baseline-common.ts. Server options are grpc-js's
 * defaults: grpc-js has no server option for the HTTP/2 receive window, and
 * the response speed is set by the client's window, which the bench's
 * clients open to --window-bytes. Prints "grpc-js listening on URL (...)"
 * on stdout when ready; stops on SIGTERM.
 */
import { randomUUID } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { generateBatch, modelProfiles } from "../../src/imaging/index.js";
import { imageMetadata } from "../../src/server/image-chunks.js";
import {
  announce,
  baselineSettingsFromArgs,
  chunksOf,
  createBaselineGenerator,
  exitOnSignals,
  modelOrThrow,
} from "./baseline-common.js";
import { loadInferenceService } from "./grpc-js-proto.js";

interface InferenceRequest {
  model_id: string;
  prompt: string;
  batch_size: number;
}

function main(): void {
  const settings = baselineSettingsFromArgs(process.argv.slice(2));
  const generator = createBaselineGenerator(settings);
  const Service = loadInferenceService();
  const server = new grpc.Server({ "grpc.max_receive_message_length": 64 * 1024 });

  server.addService(Service.service, {
    async StreamInference(call: grpc.ServerWritableStream<InferenceRequest, unknown>) {
      const request = call.request;
      const abort = new AbortController();
      call.once("cancelled", () => abort.abort());
      try {
        const model = modelOrThrow(request.model_id);
        if (request.batch_size < 1 || request.batch_size > 32) {
          throw Object.assign(new Error("batch_size must be from 1 to 32"), {
            code: grpc.status.INVALID_ARGUMENT,
          });
        }
        const requestId = randomUUID();
        const images = generateBatch(
          generator,
          model,
          request.prompt,
          request.batch_size,
          abort.signal,
        );
        for await (const image of images) {
          // The ModelMora server's metadata, so both send the same messages.
          const metadata = imageMetadata(image, request.batch_size);
          const totalChunks = Math.max(1, Math.ceil(image.png.byteLength / settings.chunkBytes));
          let chunkIndex = 0;
          for (const data of chunksOf(image.png, settings.chunkBytes)) {
            const message = {
              request_id: requestId,
              chunk_index: chunkIndex,
              total_chunks: totalChunks,
              data,
              metadata: { ...metadata, chunk_offset: String(chunkIndex * settings.chunkBytes) },
            };
            chunkIndex++;
            if (!call.write(message)) {
              await new Promise<void>((resolve, reject) => {
                const drained = () => {
                  call.off("cancelled", cancelled);
                  resolve();
                };
                const cancelled = () => {
                  call.off("drain", drained);
                  reject(new Error("cancelled"));
                };
                call.once("drain", drained);
                call.once("cancelled", cancelled);
              });
            }
          }
        }
        call.end();
      } catch (err) {
        if (!abort.signal.aborted) {
          // grpc-js sends a status from an 'error' event carrying code and details.
          const code = (err as { code?: number }).code;
          call.emit("error", {
            code: typeof code === "number" ? code : grpc.status.INTERNAL,
            details: (err as Error).message,
          });
        }
      }
    },
    ListModels(
      _call: grpc.ServerUnaryCall<unknown, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) {
      callback(null, {
        models: modelProfiles.map((model) => ({
          id: model.id,
          description: model.description,
          width: model.widthPx,
          height: model.heightPx,
          typical_image_bytes: "0",
        })),
        max_batch_size: 32,
        chunk_bytes: settings.chunkBytes,
        renderer: generator.rendererName,
      });
    },
  });

  server.bindAsync(
    `${settings.host}:${settings.port}`,
    grpc.ServerCredentials.createInsecure(),
    (error, port) => {
      if (error !== null) {
        process.stderr.write(`grpc-js-server: ${error.message}\n`);
        process.exit(1);
      }
      announce(
        "grpc-js",
        `http://${settings.host}:${port}`,
        `@grpc/grpc-js server, chunk ${settings.chunkBytes} bytes, renderer ${generator.rendererName}`,
      );
    },
  );
  exitOnSignals(() => server.forceShutdown());
}

main();
