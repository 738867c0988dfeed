/**
 * The browser side of the server: the page at `/` with its assets, and CORS
 * for pages served elsewhere. Narrow on purpose, so the server wires it in
 * two places:
 *
 *   const routes = [...otherRoutes, ...createStaticFiles().routes];
 *   const handler = withCors(createCors({ origins }), createDispatcher({ routes, … }));
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
  type RequestHandler,
  withCors,
} from "./cors.js";
export type { WebRequest, WebResponse } from "./http-types.js";
export {
  acceptsGzip,
  createStaticFiles,
  etagMatches,
  type StaticFiles,
  type StaticFilesOptions,
  type StaticRoute,
  staticFileMethods,
} from "./static-files.js";
export { defaultWebRoot } from "./web-root.js";
