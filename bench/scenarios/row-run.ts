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

/** What one round of a row measured, before it becomes RoundFigures. */
export interface RoundRecord {
  readonly iterations: number;
  readonly requests: number;
  readonly payloadBytes: number;
  readonly timedMs: number;
  readonly watch?: WatchResult;
  /** The bench's CPU over the round, verification left out, ms. */
  readonly clientCpuMs: number;
}

/**
 * The state of one row while a scenario measures it over its rounds: the
 * clients stay open from the first round to the last; each round has its
 * own readings.
 */
export class RowRun {
  readonly clients: BenchClient[] = [];
  private opened = false;
  private openError: unknown;
  private sequence = 0;
  private iteration = 0;
  private round = 0;
  private phase: "warm-up" | "run" = "warm-up";
  /** Every measured single request, over every round. */
  readonly singles: SingleRecord[] = [];
  /** Every measured load iteration (clients requesting at once), over every round. */
  readonly loadIterations: LoadRecord[] = [];
  /** Every measured unary call's duration, ms. */
  readonly unaryMs: number[] = [];
  /** Each finished round. */
  readonly roundRecords: RoundRecord[] = [];
  verifiedImages = 0;
  verifiedBytes = 0;
  verifiedRequests = 0;
  imageSetSha256: string | undefined;
  private watch: StatsWatch | undefined;
  private roundStart = {
    singles: 0,
    loads: 0,
    unary: 0,
    wireRead: 0,
    wireWritten: 0,
    cpu: process.cpuUsage(),
  };
  /** CPU the bench spent verifying (hashing) in the current round, µs; left out of its CPU. */
  private verifyCpuUs = 0;
  /** row.clientCpuMs() at the start of the round, for rows whose clients run in another process. */
  private externalCpuStartMs: number | undefined;
  /** Bytes the clients read and wrote over every round, and their connections. */
  wire: { read?: number; written?: number; connections?: number } = { read: 0, written: 0 };

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
    if (this.mode === "transport" && this.spec.kind !== "unary" && this.spec.model !== "") {
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

  /** Starts a measured round: marks where its records begin, starts the server watch. */
  async startRound(): Promise<void> {
    this.phase = "run";
    this.round++;
    this.iteration = 0;
    if (this.round > 1 && this.openError === undefined) {
      // Between rounds the other rows ran: a server may have closed these
      // idle connections (HTTP/1.1 keep-alive after 5 s, HTTP/2 after 60 s
      // on ModelMora), so they are opened again here, untimed.
      this.report("reconnecting");
      await this.withDeadline(Promise.all(this.clients.map((client) => client.unary())));
    }
    const wire = this.wireCounts();
    this.roundStart = {
      singles: this.singles.length,
      loads: this.loadIterations.length,
      unary: this.unaryMs.length,
      wireRead: wire.read,
      wireWritten: wire.written,
      cpu: process.cpuUsage(),
    };
    this.externalCpuStartMs = await this.row.clientCpuMs?.();
    this.verifyCpuUs = 0;
    if (this.row.stats !== undefined) {
      this.watch = new StatsWatch(this.row.stats);
      await this.watch.start();
    }
  }

  /** Ends a round: stops the watch, reads the sockets, keeps the round's record. */
  async endRound(): Promise<void> {
    const cpu = process.cpuUsage(this.roundStart.cpu);
    let clientCpuMs = (cpu.user + cpu.system - this.verifyCpuUs) / 1000;
    if (this.externalCpuStartMs !== undefined && this.row.clientCpuMs !== undefined) {
      // The clients run in another process, which leaves its verification out.
      clientCpuMs = (await this.row.clientCpuMs()) - this.externalCpuStartMs;
    }
    const watch = await this.watch?.stop();
    this.watch = undefined;
    const wire = this.wireCounts();
    const countable = this.clients.every((client) => client.sockets !== undefined);
    this.wire = countable
      ? {
          read: (this.wire.read ?? 0) + wire.read - this.roundStart.wireRead,
          written: (this.wire.written ?? 0) + wire.written - this.roundStart.wireWritten,
          connections: this.clients.reduce((sum, c) => sum + (c.sockets?.connections ?? 0), 0),
        }
      : {};
    const singles = this.singles.slice(this.roundStart.singles);
    const loads = this.loadIterations.slice(this.roundStart.loads);
    const unary = this.unaryMs.slice(this.roundStart.unary);
    const sum = (values: readonly number[]) => values.reduce((total, x) => total + x, 0);
    this.roundRecords.push({
      iterations: singles.length + loads.length + unary.length,
      requests: singles.length + sum(loads.map((l) => l.requests.length)) + unary.length,
      payloadBytes:
        sum(singles.map((r) => r.payloadBytes)) +
        sum(loads.map((l) => sum(l.requests.map((q) => q.payloadBytes)))),
      timedMs: sum(singles.map((r) => r.totalMs)) + sum(loads.map((l) => l.roundMs)) + sum(unary),
      watch,
      clientCpuMs,
    });
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
    const round = this.plan.rounds > 1 ? `round ${this.round}/${this.plan.rounds} ` : "";
    this.context.progress.update(
      `${this.spec.title}/${this.mode}/${this.row.id}`,
      `${this.spec.title} · ${this.mode} · ${this.row.label} · ${step === "" ? `${this.phase === "run" ? round : ""}${this.phase} ${this.iteration}/${total}` : step}`,
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

  /**
   * One request of the open-loop scenario: a stream of the spec's images
   * (verified) or, for a spec without a model, one unary call. Many may be
   * in flight at once on the row's client.
   */
  async openLoopCall(): Promise<void> {
    if (this.openError !== undefined) throw this.openError;
    const client = this.clients[0] as BenchClient;
    if (this.spec.model === "") {
      await this.withDeadline(client.unary());
      return;
    }
    const outcome = await this.withDeadline(
      client.stream(
        { modelId: this.spec.model, prompt: fixedPrompt, batchSize: this.spec.batch },
        this.spec.hashing,
      ),
    );
    this.noteVerified(this.verify(outcome.assembler));
  }

  /** The bench's CPU over the current round so far, ms, verification left out. */
  clientCpuSoFarMs(): number {
    const cpu = process.cpuUsage(this.roundStart.cpu);
    return (cpu.user + cpu.system - this.verifyCpuUs) / 1000;
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
      case "open-loop":
        throw new Error("the open-loop scenario starts its requests itself (run-open-loop.ts)");
      case "unary": {
        const client = this.clients[0] as BenchClient;
        const started = performance.now();
        // A client timed elsewhere (a Python process) says how long the call took.
        const timedMs = await client.timedUnary?.();
        if (timedMs === undefined) await client.unary();
        const callMs = timedMs ?? performance.now() - started;
        if (this.phase === "run") this.unaryMs.push(callMs);
        return { overriddenDuration: callMs };
      }
      case "stream": {
        const outcome = await (this.clients[0] as BenchClient).stream(
          { modelId: this.spec.model, prompt: this.prompt(), batchSize: this.spec.batch },
          this.spec.hashing,
        );
        // Verified after the timed part; a failure fails the row.
        this.noteVerified(this.verify(outcome.assembler));
        if (this.phase !== "run") return { overriddenDuration: outcome.totalMs };
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
        if (this.phase === "run") {
          this.loadIterations.push({ roundMs, clients: n, completed: requests.length, requests });
        }
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
