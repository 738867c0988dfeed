import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * Where the built page lives: the folder `npm run build:web` writes
 * (web/bundle/ at the package root). Looked up from this module's own
 * location, so it is found from the TypeScript sources (src/web/, run by
 * tsx) and from the compiled package (dist/src/web/) alike. Undefined when
 * neither holds an index.html.
 */
export function defaultWebRoot(): string | undefined {
  for (const relative of ["../../web/bundle/", "../../../web/bundle/"]) {
    const root = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(`${root}index.html`)) {
      return root;
    }
  }
  return undefined;
}
