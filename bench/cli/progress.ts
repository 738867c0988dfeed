/**
 * The one progress line the bench shows while it runs, on stderr: rewritten
 * in place with \r on a terminal, printed as plain lines (only when the
 * row changes) otherwise, so CI logs stay short.
 *
 * Library module of `npm run bench`; writes only to the stream it is given.
 */

/** Progress reporting. */
export interface Progress {
  /** Sets the current step; `key` changes when a new row starts. */
  update(key: string, text: string): void;
  /** Prints a line of its own (a skip, a warning), keeping the progress line below it. */
  note(line: string): void;
  /** Clears the progress line. */
  clear(): void;
}

/** Creates progress output on stream (normally process.stderr). */
export function createProgress(stream: NodeJS.WriteStream, startedMs: number): Progress {
  const tty = stream.isTTY === true;
  let shown = "";
  let lastKey = "";
  const elapsed = () => {
    const seconds = Math.round((performance.now() - startedMs) / 1000);
    return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
  };
  // A pseudo-terminal may report 0 columns: never fit lines into fewer than 40.
  const width = () => Math.max(40, (stream.columns || 120) - 1);
  const clearLine = () => {
    if (tty && shown !== "") {
      stream.write(`\r${" ".repeat(Math.min(shown.length, width()))}\r`);
      shown = "";
    }
  };
  return {
    update(key, text) {
      const line = `[${elapsed()}] ${text}`;
      if (tty) {
        const fitted = line.length > width() ? `${line.slice(0, width() - 1)}…` : line;
        clearLine();
        stream.write(fitted);
        shown = fitted;
      } else if (key !== lastKey) {
        stream.write(`${line}\n`);
      }
      lastKey = key;
    },
    note(line) {
      clearLine();
      stream.write(`${line}\n`);
    },
    clear: clearLine,
  };
}
