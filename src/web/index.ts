/**
 * The browser side of the server: the page at `/` with its assets, and CORS
 * for pages served elsewhere. Built with narrow interfaces so the server's
 * dispatch calls them in a few lines:
 *
 *   const cors = createCors({ origins: ["https://app.example.com"] });
 *   const page = createStaticFiles();
 *   // for each request, before routing:
 *   cors.apply(req, res);
 *   if (cors.preflight(req, res)) return;
 *   // after the RPC and REST routes:
 *   page.serve(req, res, path, call) || notFound();
 */

export { contentTypeByExtension, contentTypeOf } from "./content-types.js";
export {
  type Cors,
  type CorsOptions,
  corsAllowedHeaders,
  corsAllowedMethods,
  corsExposedHeaders,
  corsOriginFromString,
  createCors,
} from "./cors.js";
export { WebConfigError, type WebConfigErrorCode } from "./errors.js";
export type { WebRequest, WebResponse } from "./http-types.js";
export {
  createStaticFiles,
  type StaticCall,
  type StaticFiles,
  type StaticFilesOptions,
  staticFileMethods,
} from "./static-files.js";
export { defaultWebRoot } from "./web-root.js";
