/**
 * A least-recently-used map bounded by the total byte size of its values.
 * A value larger than the whole budget is not stored; a budget of 0 stores
 * nothing.
 */
export interface ByteBoundedCache<V> {
  get(key: string): V | undefined;
  set(key: string, value: V, sizeBytes: number): void;
  /** Bytes held now. */
  readonly sizeBytes: number;
  /** Entries held now. */
  readonly size: number;
}

/** Creates a cache that holds at most maxBytes of values. */
export function createByteBoundedCache<V>(maxBytes: number): ByteBoundedCache<V> {
  // A Map iterates in insertion order; re-inserting on each hit makes its
  // first key the least recently used one.
  const entries = new Map<string, { value: V; sizeBytes: number }>();
  let heldBytes = 0;
  return {
    get(key) {
      const entry = entries.get(key);
      if (entry === undefined) {
        return undefined;
      }
      entries.delete(key);
      entries.set(key, entry);
      return entry.value;
    },
    set(key, value, sizeBytes) {
      const old = entries.get(key);
      if (old !== undefined) {
        entries.delete(key);
        heldBytes -= old.sizeBytes;
      }
      if (sizeBytes > maxBytes) {
        return;
      }
      entries.set(key, { value, sizeBytes });
      heldBytes += sizeBytes;
      for (const [oldest, entry] of entries) {
        if (heldBytes <= maxBytes) {
          break;
        }
        entries.delete(oldest);
        heldBytes -= entry.sizeBytes;
      }
    },
    get sizeBytes() {
      return heldBytes;
    },
    get size() {
      return entries.size;
    },
  };
}
