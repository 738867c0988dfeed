/**
 * The browser rows of `npm run bench`: Connect binary, Connect JSON and
 * gRPC-Web through connect-web, and REST multipart through fetch, each in
 * a headless Chromium tab of the server's own page, over HTTP/1.1 (the
 * server under test, cleartext: browsers speak HTTP/2 only over TLS) and
 * over HTTP/2 (a TLS copy of the server the family starts itself, with a
 * certificate made for the run, unless the target is https already).
 *
 * It has the shape of the bench's RowFamily (bench/clients/rows.ts): add
 * `browserFamily` to `rowFamilies` in bench/clients/target-rows.ts and
 * its rows run the single, 10-concurrent and small scenarios with
 * `browser` in the client column. Without Chromium its rows are skipped
 * with one line each. When the run ends it saves the page after a Compare
 * run as browser/compare-desktop.png and compare-phone.png in the report
 * folder.
 *
 * Library module of `npm run bench`; reads no flags or environment
 * (MODELMORA_CHROMIUM through chromium.ts).
 */
import { join } from "node:path";
import { type BrowserProtocol, createBrowserBenchClient } from "./browser-client.js";
import { type BrowserSession, createBrowserSession } from "./browser-session.js";
import { chromiumMissing } from "./chromium.js";
import { saveCompareScreenshots } from "./compare-screenshot.js";
import { type ServerProcess, startServerProcess } from "./server-process.js";

/** What the family needs to know about a row (the bench's RowInfo has more). */
export interface BrowserRowInfo {
  readonly id: string;
  readonly label: string;
  readonly kind: "protocol";
  readonly client: "browser";
  readonly protocol: BrowserProtocol;
  readonly library: "connect-web" | "fetch";
  readonly httpVersion: "1.1" | "2";
  readonly description: string;
}

/** What the family needs from the bench (its TargetRowContext has more); S is its StatsSource. */
export interface BrowserFamilyContext<S> {
  /** The server under test's CPU and memory, for the rows that call it (h1.1). */
  readonly stats: S | undefined;
  readonly baseUrl: string;
  readonly chunkBytes: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly options: {
    /** Model of the single and load scenarios, and of the small one: the rows run these alone. */
    readonly model: string;
    readonly smallModel: string;
    /** Flags of the spawned server, which the TLS copy gets too. */
    readonly serverArgs: readonly string[];
    /** The report folder: the page's Compare screenshots go to its browser/ folder. */
    readonly outDir: string;
    /** Sent as the page's API key for the screenshots. */
    readonly apiKey?: string;
  };
}

const titles: Record<BrowserProtocol, string> = {
  connect: "Connect",
  "connect-json": "Connect JSON",
  "grpc-web": "gRPC-Web",
  rest: "REST",
};

/** Every browser row, h1.1 then h2, in the bench's protocol order. */
export const browserRowInfos: readonly BrowserRowInfo[] = (["1.1", "2"] as const).flatMap(
  (httpVersion) =>
    (["grpc-web", "connect", "connect-json", "rest"] as const).map((protocol) => ({
      id: `browser-${protocol}-${httpVersion === "2" ? "h2" : "h1"}`,
      label: `${titles[protocol]} ${httpVersion === "2" ? "h2" : "h1.1"} Chromium`,
      kind: "protocol" as const,
      client: "browser" as const,
      protocol,
      library: protocol === "rest" ? ("fetch" as const) : ("connect-web" as const),
      httpVersion,
      description:
        protocol === "rest"
          ? "fetch in headless Chromium (the server's page), POST /infer/stream multipart → ModelMora server"
          : `connect-web ${protocol} client in headless Chromium (the server's page) → ModelMora server`,
    })),
);

/** A browser row ready to measure (the shape of the bench's RowSpec). */
export interface BrowserRowSpec<S> extends BrowserRowInfo {
  createClient(): ReturnType<typeof createBrowserBenchClient>;
  /** The serving process's CPU and memory: the server under test's for h1.1, none for the TLS copy. */
  readonly stats: S | undefined;
  unsupported(model: string, mode: string): string | undefined;
}

/** The browser rows as a row family of the bench. */
export const browserFamily = {
  id: "browser",
  rows: browserRowInfos,
  async open<S>(context: BrowserFamilyContext<S>, wanted: readonly BrowserRowInfo[]) {
    const missing = chromiumMissing();
    if (missing !== undefined) {
      return {
        rows: [] as BrowserRowSpec<S>[],
        // One line for the group, not one per row.
        skipped: [{ row: `browser rows (${wanted.length})`, reason: missing }],
        async close() {},
      };
    }
    const servers: ServerProcess[] = [];
    const sessions = new Map<"1.1" | "2", BrowserSession>();
    const skipped: { row: string; reason: string }[] = [];
    const rows: BrowserRowSpec<S>[] = [];
    const close = async () => {
      // After the measurements: the page after a Compare run, for people to
      // look at. A failure here costs the pictures, not the run.
      const session = sessions.get("2") ?? sessions.get("1.1");
      if (session !== undefined && rows.length > 0) {
        await saveCompareScreenshots(session, {
          dir: join(context.options.outDir, "browser"),
          apiKey: context.options.apiKey,
        }).catch(() => undefined);
      }
      await Promise.allSettled([...sessions.values()].map((each) => each.close()));
      await Promise.allSettled(servers.map((server) => server.stop()));
    };
    try {
      const secureTarget = context.baseUrl.startsWith("https:");
      for (const httpVersion of ["1.1", "2"] as const) {
        const mine = wanted.filter((row) => row.httpVersion === httpVersion);
        if (mine.length === 0) continue;
        let baseUrl = context.baseUrl;
        if (httpVersion === "1.1" && secureTarget) {
          // Chromium would negotiate HTTP/2 with a TLS server.
          for (const row of mine) {
            skipped.push({ row: row.id, reason: "the target is https: Chromium speaks h2 to it" });
          }
          continue;
        }
        if (httpVersion === "2" && !secureTarget) {
          const copy = await startServerProcess({ tls: true, args: context.options.serverArgs });
          servers.push(copy);
          baseUrl = copy.url;
        }
        const session = await createBrowserSession({ baseUrl });
        sessions.set(httpVersion, session);
        for (const row of mine) {
          // One tab per row: its calls share the tab's connections, as a page's do.
          const page = await session.openPage();
          rows.push({
            ...row,
            stats: httpVersion === "1.1" ? context.stats : undefined,
            createClient: () =>
              createBrowserBenchClient(page, {
                protocol: row.protocol,
                headers: context.headers,
                chunkBytes: context.chunkBytes,
              }),
            unsupported(model) {
              return model === context.options.model || model === context.options.smallModel
                ? undefined
                : "browser rows run the single, load and small scenarios only";
            },
          });
        }
      }
    } catch (err) {
      await close();
      throw err;
    }
    return { rows, skipped, close };
  },
};
