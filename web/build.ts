/**
 * `npm run build:web`: bundles the browser page into web/bundle/, which is
 * committed (so `npm install && npm run serve` shows the page with nothing
 * to build, and the npm package carries it) and checked by CI to be what
 * this script writes.
 *
 *   npm run build:web
 *
 * Writes web/bundle/index.html (web/index.html with the asset names filled
 * in) and web/bundle/assets/app-<hash>.js and styles-<hash>.css, minified,
 * with content hashes in their names so the server can mark them
 * immutable. The same sources and esbuild version give the same bytes.
 * Reads no flags or environment.
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const webDir = fileURLToPath(new URL(".", import.meta.url));
const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const outDir = `${webDir}bundle`;

/** Names the bundled packages and their licences, at the top of the script. */
const banner = [
  "/*! ModelMora browser page. Bundled: @connectrpc/connect, @connectrpc/connect-web,",
  " * @bufbuild/protobuf (Apache-2.0, https://github.com/connectrpc/connect-es and",
  " * https://github.com/bufbuild/protobuf-es). */",
].join("\n");

async function main(): Promise<void> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const result = await build({
    absWorkingDir: repoRoot,
    entryPoints: { app: "web/src/main.ts", styles: "web/styles.css" },
    outdir: outDir,
    entryNames: "assets/[name]-[hash]",
    bundle: true,
    format: "esm",
    // What the page needs: ES2022 runs in every browser of the last three
    // years, phones included (Safari 15.4+, Chrome 94+, Firefox 93+).
    target: ["es2022"],
    platform: "browser",
    minify: true,
    legalComments: "inline",
    banner: { js: banner },
    metafile: true,
    logLevel: "warning",
  });
  const assets = new Map<string, string>();
  for (const [output, meta] of Object.entries(result.metafile.outputs)) {
    const entry = meta.entryPoint;
    if (entry === undefined) continue;
    const name = entry.endsWith(".css") ? "styles" : "app";
    assets.set(name, relative(outDir, `${repoRoot}${output}`));
  }
  const template = await readFile(`${webDir}index.html`, "utf8");
  const page = template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const path = assets.get(name);
    if (path === undefined) {
      throw new Error(`web/index.html names {{${name}}}, which the build did not write`);
    }
    return path;
  });
  await writeFile(`${outDir}/index.html`, page);
  for (const [name, path] of assets) {
    process.stderr.write(`web/bundle/${path} (${name})\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`build:web: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
