import type { ImagePiece } from "./image-assembler.js";

/** The request every protocol carries: InferenceRequest's three fields. */
export interface StreamRequest {
  readonly modelId: string;
  readonly prompt: string;
  readonly batchSize: number;
}

/** What a protocol's streaming call needs besides the request. */
export interface StreamCallOptions {
  /** The server, such as "http://localhost:8080" (no trailing slash). */
  readonly baseUrl: string;
  readonly request: StreamRequest;
  /** Extra request headers: credentials (x-api-key). */
  readonly headers: Readonly<Record<string, string>>;
  /** Ends the call: the browser cancels the request and the server sees the client go. */
  readonly signal?: AbortSignal;
  /** The fetch the call uses (a metered one). */
  readonly fetch: typeof globalThis.fetch;
  /** Receives each piece of image data as it arrives. */
  onPiece(piece: ImagePiece, data: Uint8Array): void;
  /**
   * Called after each protocol message (RPC) or body read (REST) has been
   * handed on; when it returns a promise, the next read waits for it (the
   * page yields to the browser there, so it can paint and take clicks).
   */
  afterMessage?(): Promise<void> | undefined;
}
