/**
 * The state of one row while a scenario measures it: its clients, what each
 * iteration recorded, and the readings around the measured phase (server
 * CPU and RSS, the bench's own CPU, bytes on the wire). Each tinybench
 * iteration calls iterate(): one request, one round of concurrent clients,
 * or one unary call; every streamed response is verified after its timed
 * part.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import { createHash } from "node:crypto";
import type { IterationPlan, Mode, Progress } from "../cli/index.js";
import type { BenchClient, RowSpec } from "../clients/index.js";
import type { ClientRecord, LoadRecord, SingleRecord } from "../results/index.js";
import { StatsWatch, type WatchResult } from "../targets/index.js";
import {
  errorMessage,
  type Verifiable,
  VerificationError,
  type VerifiedImage,
} from "../verify/index.js";
import { fixedPrompt, type ScenarioSpec } from "./specs.js";

/** Longest an iteration may take before its row fails: generous, the memory round takes ~15 s. */
const iterationTimeoutMs = 300_000;

/** What a scenario run needs besides its spec and rows. */
export interface RunContext {
  /** Makes e2e prompts unique across runs. */
  readonly runId: string;
  readonly progress: Progress;
}

/** What an iteration hands tinybench: the timed part of its duration. */
export interface IterationResult {
  overriddenDuration: number;
}

/** The state of one row while its task runs. */
export class RowRun {
  readonly clients: BenchClient[] = [];
  private opened = false;
  private openError: unknown;
  private sequence = 0;
  private iteration = 0;
  private phase: "warm-up" | "run" = "warm-up";
  readonly singles: SingleRecord[] = [];
  readonly rounds: LoadRecord[] = [];
  unaryCalls = 0;
  verifiedImages = 0;
  verifiedBytes = 0;
  verifiedRequests = 0;
  imageSetSha256: string | undefined;
  private watch: StatsWatch | undefined;
  watchResult: WatchResult | undefined;
  private wireStart = { read: 0, written: 0 };
  private cpuStart: NodeJS.CpuUsage | undefined;
  /** The bench process's CPU time over the measured phase, ms. */
  clientCpuMs: number | undefined;
  /** CPU the bench spent verifying (hashing) in the measured phase, µs; left out of clientCpuMs. */
  private verifyCpuUs = 0;
  wire: { read?: number; written?: number; connections?: number } = {};

  constructor(
    readonly spec: ScenarioSpec,
    readonly mode: Mode,
    readonly row: RowSpec,
    private readonly plan: IterationPlan,
    private readonly context: RunContext,
  ) {}

  /** Opens the clients and warms them up, once; remembers a failure for the task to report. */
  async open(): Promise<void> {
    if (this.opened) return;
    this.opened = true;
    try {
      await this.withDeadline(this.openOnce());
    } catch (err) {
      this.openError = err;
    }
  }

  private async openOnce(): Promise<void> {
    const count =
      this.spec.kind === "load" && this.spec.connections === "per-client" ? this.spec.clients : 1;
    for (let i = 0; i < count; i++) {
      this.clients.push(this.row.createClient());
    }
    this.report("connecting");
    // A small call on each client opens its connection outside the measurement.
    await Promise.all(this.clients.map((client) => client.unary()));
    if (this.mode === "transport" && this.spec.kind !== "unary") {
      // Transport-only: the fixed prompt once, so the server generates and
      // caches its images before anything is timed. Verified like the rest.
      this.report("filling the cache");
      const outcome = await (this.clients[0] as BenchClient).stream(
        { modelId: this.spec.model, prompt: fixedPrompt, batchSize: this.spec.batch },
        this.spec.hashing,
      );
      outcome.assembler.finish();
    }
  }

  /** Starts the measured phase: clears warm-up records, starts the server watch. */
  async startRun(): Promise<void> {
    this.phase = "run";
    this.iteration = 0;
    this.singles.length = 0;
    this.rounds.length = 0;
    this.unaryCalls = 0;
    this.verifiedImages = 0;
    this.verifiedBytes = 0;
    this.verifiedRequests = 0;
    this.wireStart = this.wireCounts();
    this.cpuStart = process.cpuUsage();
    this.verifyCpuUs = 0;
    if (this.row.stats !== undefined) {
      this.watch = new StatsWatch(this.row.stats);
      await this.watch.start();
    }
  }

  /** Ends the measured phase: stops the watch, reads the sockets, closes the clients. */
  async endRun(): Promise<void> {
    const cpu = process.cpuUsage(this.cpuStart);
    this.clientCpuMs = (cpu.user + cpu.system - this.verifyCpuUs) / 1000;
    this.watchResult = await this.watch?.stop();
    this.watch = undefined;
    const end = this.wireCounts();
    const countable = this.clients.every((client) => client.sockets !== undefined);
    this.wire = countable
      ? {
          read: end.read - this.wireStart.read,
          written: end.written - this.wireStart.written,
          connections: this.clients.reduce((sum, c) => sum + (c.sockets?.connections ?? 0), 0),
        }
      : {};
    this.close();
  }

  close(): void {
    for (const client of this.clients) {
      client.close();
    }
  }

  private wireCounts(): { read: number; written: number } {
    let read = 0;
    let written = 0;
    for (const client of this.clients) {
      read += client.sockets?.bytesRead() ?? 0;
      written += client.sockets?.bytesWritten() ?? 0;
    }
    return { read, written };
  }

  private prompt(): string {
    if (this.mode === "transport") return fixedPrompt;
    // End-to-end: a prompt never asked before, so every image is generated.
    return `modelmora bench ${this.context.runId} ${this.spec.id} ${this.row.id} ${this.sequence++}`;
  }

  private report(step: string): void {
    const total = this.phase === "run" ? this.plan.iterations : this.plan.warmupIterations;
    this.context.progress.update(
      `${this.spec.id}/${this.mode}/${this.row.id}`,
      `${this.spec.title} · ${this.mode} · ${this.row.label} · ${step === "" ? `${this.phase} ${this.iteration}/${total}` : step}`,
    );
  }

  /** Runs finish() (the hashing) and keeps its CPU time apart from the client's. */
  private verify(assembler: Verifiable): VerifiedImage[] {
    const before = process.cpuUsage();
    try {
      return assembler.finish();
    } finally {
      const used = process.cpuUsage(before);
      this.verifyCpuUs += used.user + used.system;
    }
  }

  private noteVerified(images: readonly VerifiedImage[]): void {
    this.verifiedRequests++;
    this.verifiedImages += images.length;
    for (const image of images) {
      this.verifiedBytes += image.bytes;
    }
    this.imageSetSha256 ??= createHash("sha256")
      .update(images.map((image) => image.sha256).join(","))
      .digest("hex");
  }

  /** One tinybench iteration. */
  async iterate(): Promise<IterationResult | undefined> {
    if (this.openError !== undefined) {
      throw this.openError;
    }
    this.iteration++;
    this.report("");
    return this.withDeadline(this.iterateOnce());
  }

  /**
   * A server that stops answering must fail the row, not hang the run:
   * past iterationTimeoutMs, closing the clients aborts whatever they wait for.
   */
  private async withDeadline<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.close();
        reject(new Error(`no complete response within ${iterationTimeoutMs / 1000} s`));
      }, iterationTimeoutMs);
    });
    try {
      return await Promise.race([work, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async iterateOnce(): Promise<IterationResult | undefined> {
    switch (this.spec.kind) {
      case "unary": {
        await (this.clients[0] as BenchClient).unary();
        this.unaryCalls++;
        return undefined;
      }
      case "stream": {
        const outcome = await (this.clients[0] as BenchClient).stream(
          { modelId: this.spec.model, prompt: this.prompt(), batchSize: this.spec.batch },
          this.spec.hashing,
        );
        // Verified after the timed part; a failure fails the row.
        this.noteVerified(this.verify(outcome.assembler));
        this.singles.push({
          totalMs: outcome.totalMs,
          firstChunkMs: outcome.firstChunkMs,
          payloadBytes: outcome.payloadBytes,
          chunks: outcome.chunks,
          chunksNominal: outcome.chunksNominal,
        });
        return { overriddenDuration: outcome.totalMs };
      }
      case "load": {
        const n = this.spec.clients;
        const started = performance.now();
        const settled = await Promise.allSettled(
          Array.from({ length: n }, (_, i) =>
            (this.clients[i % this.clients.length] as BenchClient).stream(
              { modelId: this.spec.model, prompt: this.prompt(), batchSize: this.spec.batch },
              this.spec.hashing,
            ),
          ),
        );
        const roundMs = performance.now() - started;
        const requests: ClientRecord[] = [];
        let firstFailure: unknown;
        for (const result of settled) {
          try {
            if (result.status === "rejected") throw result.reason;
            this.noteVerified(this.verify(result.value.assembler));
            requests.push({
              totalMs: result.value.totalMs,
              firstChunkMs: result.value.firstChunkMs,
              payloadBytes: result.value.payloadBytes,
            });
          } catch (err) {
            firstFailure ??= err;
          }
        }
        this.rounds.push({ roundMs, clients: n, completed: requests.length, requests });
        if (firstFailure !== undefined) {
          throw new VerificationError(
            `${requests.length}/${n} clients completed; first failure: ${errorMessage(firstFailure)}`,
          );
        }
        return { overriddenDuration: roundMs };
      }
    }
  }
}
