/**
 * Buckets of modelmora_call_duration_seconds, in seconds: 1 ms to 60 s, about
 * three per decade. A ListModels call or a cached image lands in the first
 * few; a large batch streamed over a slow link in the last.
 */
export const callDurationBucketsSeconds: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

/**
 * Buckets of modelmora_first_chunk_seconds and
 * modelmora_image_generation_seconds, in seconds: 1 ms to 5 s, about three per
 * decade. A first chunk waits for one image to render, which takes from a few
 * milliseconds (small, or cached) to a few seconds (large); past 5 s only the
 * count matters.
 */
export const latencyBucketsSeconds: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];
