export { Code, ConnectError } from "@connectrpc/connect";
export {
  createInferenceClient,
  defaultWindowBytes,
  type InferenceClient,
  type InferenceClientOptions,
  type ModelMoraClient,
  type ProtocolName,
  protocolNames,
} from "./create-inference-client.js";
export {
  defaultMaxImageBytes,
  ImageAssembler,
  type ImageAssemblerOptions,
} from "./image-assembler.js";
export {
  defaultMaxMessageBytes,
  ResponseDecoder,
  type ResponseDecoderEvents,
  type ResponseDecoderOptions,
} from "./response-decoder.js";
export type { DecodedResponse } from "./response-fields.js";
export type {
  StreamImages,
  StreamImagesOptions,
  StreamImagesRequest,
} from "./stream-images.js";
export type { StreamedImage } from "./streamed-image.js";
export {
  type WireProtocol,
  type WireProtocolName,
  type WireResponse,
  wireProtocols,
} from "./wire/index.js";
