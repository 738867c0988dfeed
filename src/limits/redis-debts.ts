import { dayOf } from "./limit-store.js";
import type { RedisConnection } from "./redis-connection.js";
import { bytesTtlMs, type RedisKeys } from "./redis-keys.js";

/** Bytes sent uncounted while Redis was unreachable, to count once it is back. */
export interface ByteDebts {
  /** Bytes the limiter let a stream send when Redis could not count them. */
  add(keyId: string, day: number, bytes: number): void;
  /** Counts what is owed (days that are over are dropped). Never rejects. */
  charge(): void;
}

/** How many key-days it remembers at most; past that, bytes go uncounted. */
const maxDebts = 10_000;

/** Creates the book of byte debts of one Redis store. */
export function createByteDebts(
  connection: RedisConnection,
  keys: RedisKeys,
  now: () => number,
): ByteDebts {
  const debts = new Map<string, { keyId: string; day: number; bytes: number }>();
  let charging = false;

  function add(keyId: string, day: number, bytes: number): void {
    const id = `${day}:${keyId}`;
    const debt = debts.get(id);
    if (debt !== undefined) {
      debt.bytes += bytes;
    } else if (debts.size < maxDebts) {
      debts.set(id, { keyId, day, bytes });
    }
  }

  async function chargeAll(pending: { keyId: string; day: number; bytes: number }[]) {
    const today = dayOf(now());
    for (const debt of pending) {
      if (debt.day < today) continue;
      try {
        await connection.scripts.chargeBytes(
          keys.bytes(debt.keyId, debt.day),
          debt.bytes,
          bytesTtlMs(debt.day, now()),
        );
      } catch {
        add(debt.keyId, debt.day, debt.bytes);
      }
    }
  }

  return {
    add,
    charge() {
      if (charging || debts.size === 0) return;
      charging = true;
      const pending = [...debts.values()];
      debts.clear();
      chargeAll(pending).finally(() => {
        charging = false;
      });
    },
  };
}
