import { Counter, Histogram, type Registry } from "prom-client";
import { boundedLabel, maxLabelValues, nonNegative } from "./bounded-values.js";
import { latencyBucketsSeconds } from "./metric-buckets.js";

/** The labels of a generated image. */
export interface ImageLabels {
  /** The model id, one of the served models. */
  model: string;
  /** The Canvas implementation that drew it: "canvas" or "@napi-rs/canvas". */
  renderer: string;
  /** True when the image came from the cache rather than being drawn. */
  cached: boolean;
}

/** The metrics of images: image_generation_seconds and images_total (see Metrics). */
export interface ImageMetrics {
  /**
   * Counts an image served. Only an image that was drawn (cached false)
   * observes its render time, in seconds, in image_generation_seconds.
   */
  imageGenerated(labels: ImageLabels, seconds: number): void;
}

/** Registers the image metrics in `registers`. */
export function createImageMetrics(registers: Registry[]): ImageMetrics {
  const imageGeneration = new Histogram({
    name: "modelmora_image_generation_seconds",
    help: "Time to draw and encode one image that was not in the cache, in seconds.",
    labelNames: ["model", "renderer"],
    buckets: [...latencyBucketsSeconds],
    registers,
  });
  const images = new Counter({
    name: "modelmora_images_total",
    help: "Images served, drawn (cached=false) or from the cache (cached=true).",
    labelNames: ["model", "renderer", "cached"],
    registers,
  });
  const modelLabel = boundedLabel(maxLabelValues);
  const rendererLabel = boundedLabel(8);

  return {
    imageGenerated: function imageGenerated(image, seconds) {
      const labels = { model: modelLabel(image.model), renderer: rendererLabel(image.renderer) };
      images.inc({ ...labels, cached: image.cached ? "true" : "false" });
      if (!image.cached) {
        imageGeneration.observe(labels, nonNegative(seconds));
      }
    },
  };
}
