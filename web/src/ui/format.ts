const whole = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat("en-US", {
  minimumFractionDigits: 1,
  maximumFractionDigits: 1,
});

/** Bytes in full below 10 kB ("1,734 B"), else in MB with one decimal ("30.1 MB", MB = 10^6 bytes). */
export function formatBytes(bytes: number): string {
  return bytes < 10_000 ? `${whole.format(bytes)} B` : `${oneDecimal.format(bytes / 1e6)} MB`;
}

/** Bytes in full: "3,005,928 B". */
export function formatExactBytes(bytes: number): string {
  return `${whole.format(bytes)} B`;
}

/** Milliseconds: "412 ms", "1.2 s"; a dash when unknown. */
export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return "–";
  return ms < 1000 ? `${whole.format(ms)} ms` : `${oneDecimal.format(ms / 1000)} s`;
}

/** Throughput: "123.4 MB/s". */
export function formatRate(megabytesPerSecond: number): string {
  return `${oneDecimal.format(megabytesPerSecond)} MB/s`;
}
