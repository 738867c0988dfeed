/**
 * The ModelMora server: one port, every protocol. createServer builds it;
 * listen() starts it; close() drains it.
 */
export { createServer, type Logger, type ModelMoraServer } from "./create-server.js";
export { defaultInferenceLimits, type InferenceLimits } from "./inference-request.js";
export type { TlsOptions } from "./listener.js";
export { type ServerOptions, serverDefaults } from "./server-options.js";
