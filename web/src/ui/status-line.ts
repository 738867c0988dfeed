/** What the page is doing, shown in the status line and its data-state attribute. */
export type PageState =
  | "idle"
  | "loading"
  | "streaming"
  | "comparing"
  | "done"
  | "stopped"
  | "error";

/** The status line under the form: one sentence, errors as the server sent them. */
export interface StatusLine {
  /** Shows a state and its sentence; retryAfter (seconds) goes in data-retry-after. */
  show(state: PageState, text: string, retryAfter?: string): void;
}

/** A status line in an element with role="status". */
export function createStatusLine(element: HTMLElement): StatusLine {
  return {
    show(state, text, retryAfter) {
      element.dataset.state = state;
      element.textContent = text;
      if (retryAfter === undefined) {
        delete element.dataset.retryAfter;
      } else {
        element.dataset.retryAfter = retryAfter;
      }
    },
  };
}
