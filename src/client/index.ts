export {
  createInferenceClient,
  defaultWindowBytes,
  type InferenceClient,
  type InferenceClientOptions,
  type ProtocolName,
  protocolNames,
} from "./create-inference-client.js";
