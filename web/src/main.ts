/**
 * The page at `/`: streams a batch of images over the protocol picked, or
 * over every protocol in turn (Compare), and shows the images as they
 * arrive with their sizes, times, throughput and SHA-256 checks.
 * `npm run build:web` bundles it into web/bundle/.
 */
import { apiBaseUrl } from "./api-target.js";
import { installBenchApi } from "./bench-api.js";
import { describeError, isStop, retryAfterOf } from "./error-text.js";
import { listModels } from "./list-models.js";
import { type ProtocolId, protocolInfo, protocols } from "./protocols.js";
import { figuresOf, runStream, type StreamRun } from "./run-stream.js";
import type { StreamRequest } from "./stream-request.js";
import { type CompareEntry, renderCompareChart } from "./ui/compare-chart.js";
import { byId } from "./ui/dom.js";
import { formatRate } from "./ui/format.js";
import { createGallery, type ShownImage } from "./ui/gallery.js";
import { createRequestForm } from "./ui/request-form.js";
import { createStatusLine } from "./ui/status-line.js";
import { renderSummary } from "./ui/summary-view.js";
import { keepResourceTimings } from "./wire-meter.js";

const baseUrl = apiBaseUrl(location);
keepResourceTimings();
installBenchApi(baseUrl);

const form = createRequestForm();
const status = createStatusLine(byId("status", HTMLParagraphElement));
const gallery = createGallery(byId("gallery", HTMLOListElement));
const summary = byId("summary", HTMLElement);
const summaryFigures = byId("summary-figures", HTMLElement);
const compare = byId("compare", HTMLElement);
const compareChart = byId("compare-chart", HTMLDivElement);
byId("server-url", HTMLElement).textContent =
  baseUrl === location.origin ? `${baseUrl} (this page's server)` : baseUrl;

let running: AbortController | undefined;
/** Runs started (Stream or Compare), in data-runs on <body>: tests wait on it. */
let runs = 0;

/** Starts a run: Stop aborts it until it ends. */
function beginRun(): AbortController {
  const controller = new AbortController();
  running = controller;
  runs++;
  document.body.dataset.runs = String(runs);
  form.setBusy(true);
  return controller;
}

/** The API key as the header every protocol sends it in. */
function credentials(apiKey: string): Record<string, string> {
  return apiKey === "" ? {} : { "x-api-key": apiKey };
}

async function loadModels(): Promise<void> {
  status.show("loading", "Loading the models…");
  try {
    const answer = await listModels(baseUrl, credentials(form.values().apiKey));
    form.setModels(answer.models, answer.maxBatchSize);
    status.show(
      "idle",
      `Ready: ${answer.models.length} models, batches up to ${answer.maxBatchSize}, renderer ${answer.renderer}.`,
    );
  } catch (err) {
    status.show("error", `ListModels failed: ${describeError(err)}`, retryAfterOf(err));
  }
}

/** Streams one batch over one protocol into the gallery; resolves with the run and its checks. */
async function streamInto(
  protocol: ProtocolId,
  request: StreamRequest,
  apiKey: string,
  signal: AbortSignal,
): Promise<{ run: StreamRun; shown: ShownImage[] }> {
  gallery.clear();
  const pending: Promise<ShownImage>[] = [];
  const startedMs = performance.now();
  const run = await runStream({
    baseUrl,
    protocol,
    request,
    headers: credentials(apiKey),
    signal,
    yieldToBrowser: true,
    onImage(image) {
      pending.push(gallery.add(image, startedMs));
      status.show(
        "streaming",
        `${protocolInfo(protocol).label}: ${pending.length} of ${request.batchSize} images…`,
      );
    },
  });
  const shown = await Promise.all(pending);
  return { run, shown };
}

async function streamOnce(): Promise<void> {
  const { protocol, request, apiKey } = form.values();
  const controller = beginRun();
  compare.hidden = true;
  status.show("streaming", `${protocolInfo(protocol).label}: waiting for the first image…`);
  try {
    const { run, shown } = await streamInto(protocol, request, apiKey, controller.signal);
    summary.hidden = false;
    renderSummary(summaryFigures, run, shown);
    if (run.error !== undefined && isStop(run.error)) {
      status.show("stopped", `Stopped after ${run.images.length} of ${request.batchSize} images.`);
    } else if (run.error !== undefined) {
      status.show("error", describeError(run.error), retryAfterOf(run.error));
    } else {
      const bad = shown.filter((image) => !image.sha256Ok || !image.decoded).length;
      status.show(
        bad === 0 ? "done" : "error",
        bad === 0
          ? `${run.images.length} images in ${formatRate(figuresOf(run).megabytesPerSecond)}, every SHA-256 matches.`
          : `${bad} of ${shown.length} images failed their checks.`,
      );
    }
  } finally {
    running = undefined;
    form.setBusy(false);
  }
}

async function compareAll(): Promise<void> {
  const { request, apiKey } = form.values();
  const controller = beginRun();
  summary.hidden = true;
  compare.hidden = false;
  const entries: CompareEntry[] = [];
  renderCompareChart(compareChart, entries);
  try {
    // One request first, not measured, so the server has drawn the images
    // and every protocol is measured on the same cached bytes.
    status.show("comparing", "Compare: warming up (the server draws the images once)…");
    const warmUp = await runStream({
      baseUrl,
      protocol: "connect",
      request,
      headers: credentials(apiKey),
      signal: controller.signal,
    });
    if (warmUp.error !== undefined) {
      status.show(isStop(warmUp.error) ? "stopped" : "error", describeError(warmUp.error));
      return;
    }
    for (const { id, label } of protocols) {
      status.show("comparing", `Compare: ${label}…`);
      const { run, shown } = await streamInto(id, request, apiKey, controller.signal);
      const figures = figuresOf(run);
      entries.push({
        protocol: id,
        megabytesPerSecond: run.error === undefined ? figures.megabytesPerSecond : undefined,
        firstImageMs: figures.firstImageMs,
        verified: `${shown.filter((image) => image.sha256Ok && image.decoded).length}/${request.batchSize} ✓`,
        error: run.error === undefined ? undefined : describeError(run.error),
        httpVersion: run.httpVersion,
      });
      renderCompareChart(compareChart, entries);
      if (run.error !== undefined && isStop(run.error)) {
        status.show("stopped", `Compare stopped during ${label}.`);
        return;
      }
    }
    const failed = entries.filter((entry) => entry.error !== undefined).length;
    status.show(
      failed === 0 ? "done" : "error",
      failed === 0
        ? `Compared ${entries.length} protocols on the same ${request.batchSize} images.`
        : `${failed} of ${entries.length} protocols failed.`,
    );
  } finally {
    running = undefined;
    form.setBusy(false);
  }
}

form.element.addEventListener("submit", (event) => {
  event.preventDefault();
  if (running === undefined) void streamOnce();
});
form.compareButton.addEventListener("click", () => {
  if (running === undefined) void compareAll();
});
form.stopButton.addEventListener("click", () => {
  running?.abort();
});
form.apiKeyInput.addEventListener("change", () => {
  if (running === undefined) void loadModels();
});
void loadModels();
