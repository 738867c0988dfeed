import {
  AggregatorRegistry,
  Counter,
  collectDefaultMetrics,
  Gauge,
  type MetricObjectWithValues,
  type MetricValue,
  Registry,
} from "prom-client";
import { createMetrics, type Metrics } from "../observability/index.js";
import type { IpcPeer } from "./ipc-peer.js";

/** How long the primary waits for one worker's metrics, in ms. */
const workerMetricsTimeoutMs = 2000;

type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** The primary's side of the cluster's metrics. */
export interface PrimaryMetrics {
  /**
   * The exposition for the whole server: every given worker's metrics and
   * the primary's own, merged by prom-client's AggregatorRegistry.
   */
  render(workers: readonly IpcPeer[]): Promise<{ contentType: string; body: string }>;
  /** Sets modelmora_workers{state}: workers starting, serving and draining now. */
  setWorkers(counts: Record<"starting" | "serving" | "draining", number>): void;
  /** Counts a worker that died and is being replaced, in modelmora_worker_restarts_total. */
  workerRestarted(): void;
}

/**
 * Creates the primary's metrics. The workers' series are merged with
 * prom-client's aggregation: counters and histograms add up, as do the
 * gauges whose sum is the server's figure (active streams, renders in
 * progress); modelmora_limit_store_up takes the lowest. prom-client's
 * process and Node.js metrics carry a `worker` label ("1", "2", …, and
 * "primary"), since a sum of event-loop lags or heap sizes means nothing
 * while each worker's does.
 *
 * The primary asks only workers that listen, each with a timeout, rather
 * than use AggregatorRegistry.clusterMetrics(): that asks every connected
 * worker, and one still starting can't answer, so a scrape during a
 * worker's restart would wait 5 s and fail. A worker that doesn't answer
 * in 2 s is left out of that scrape.
 */
export function createPrimaryMetrics(): PrimaryMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, labels: { worker: "primary" } });
  const workers = new Gauge({
    name: "modelmora_workers",
    help: "Worker processes of this server, by state (starting, serving, draining).",
    labelNames: ["state"],
    registers: [registry],
  });
  const restarts = new Counter({
    name: "modelmora_worker_restarts_total",
    help: "Worker processes that died and were replaced.",
    registers: [registry],
  });
  restarts.inc(0);

  return {
    async render(peers) {
      const answers = await Promise.all(
        peers.map((peer) =>
          peer
            .call("metrics.json", {}, workerMetricsTimeoutMs)
            .then((json) => json as MetricsJson)
            .catch(() => undefined),
        ),
      );
      const all = answers.filter((json): json is MetricsJson => json !== undefined);
      all.push(await registry.getMetricsAsJSON());
      const merged = AggregatorRegistry.aggregate(all);
      return { contentType: merged.contentType, body: await merged.metrics() };
    },
    setWorkers(counts) {
      for (const [state, count] of Object.entries(counts)) {
        workers.set({ state }, count);
      }
    },
    workerRestarted() {
      restarts.inc();
    },
  };
}

/** A worker's metrics, and the IPC methods that serve them to the primary. */
export interface WorkerMetrics {
  /** The server's metrics: render() answers for the whole server, through the primary. */
  readonly metrics: Metrics;
  /** The methods the worker answers the primary with. */
  readonly handlers: Readonly<Record<string, () => unknown>>;
}

/**
 * Creates a worker's metrics: the server's own (createMetrics), with
 * prom-client's default metrics labelled worker=`slot`, and a render()
 * that asks the primary for the whole server's exposition.
 */
export function createWorkerMetrics(slot: string, primary: () => IpcPeer): WorkerMetrics {
  const metrics = createMetrics({ collectDefault: false });
  collectDefaultMetrics({ register: metrics.registry, labels: { worker: slot } });
  return {
    metrics: {
      ...metrics,
      render: async function renderClusterMetrics() {
        return (await primary().call("metrics.render", {}, 3 * workerMetricsTimeoutMs)) as {
          contentType: string;
          body: string;
        };
      },
    },
    handlers: {
      "metrics.json": () => metrics.registry.getMetricsAsJSON(),
    },
  };
}
