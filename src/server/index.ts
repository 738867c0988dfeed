export {
  createServer,
  type Logger,
  type ModelMoraServer,
  type Readiness,
  type ServerOptions,
} from "./create-server.js";
export { codeName, httpStatusFromCode, ServerError, type ServerErrorCode } from "./errors.js";
export { defaultInferenceLimits, type InferenceLimits } from "./inference-core.js";
export type { TlsOptions } from "./listener.js";
