import type { ModelInfo } from "../../../src/gen/modelmora/inference_pb.js";
import { isProtocolId, type ProtocolId, protocols } from "../protocols.js";
import type { StreamRequest } from "../stream-request.js";
import { byId, h } from "./dom.js";
import { formatBytes } from "./format.js";

/** The form's values. */
export interface FormValues {
  readonly protocol: ProtocolId;
  readonly request: StreamRequest;
  readonly apiKey: string;
}

/** The request form: protocol, model, prompt, batch size, API key and the buttons. */
export interface RequestForm {
  readonly element: HTMLFormElement;
  readonly apiKeyInput: HTMLInputElement;
  readonly stopButton: HTMLButtonElement;
  readonly compareButton: HTMLButtonElement;
  values(): FormValues;
  /** Lists the server's models, keeping the chosen one when it is still there. */
  setModels(models: readonly ModelInfo[], maxBatchSize: number): void;
  /** While a run goes: Stream and Compare off, Stop on; and back. */
  setBusy(busy: boolean): void;
}

/** Binds the form in the page and adds a radio button per protocol. */
export function createRequestForm(): RequestForm {
  const element = byId("request-form", HTMLFormElement);
  const choices = byId("protocol-choices", HTMLDivElement);
  const model = byId("model", HTMLSelectElement);
  const prompt = byId("prompt", HTMLInputElement);
  const batchSize = byId("batch-size", HTMLInputElement);
  const apiKeyInput = byId("api-key", HTMLInputElement);
  const streamButton = byId("stream-button", HTMLButtonElement);
  const stopButton = byId("stop-button", HTMLButtonElement);
  const compareButton = byId("compare-button", HTMLButtonElement);

  choices.replaceChildren(
    ...protocols.map((protocol, i) => {
      const input = h("input", {
        attrs: {
          type: "radio",
          name: "protocol",
          value: protocol.id,
          id: `protocol-${protocol.id}`,
        },
      });
      input.checked = i === 0;
      return h(
        "label",
        { className: "choice", attrs: { for: input.id, title: protocol.detail } },
        input,
        h("span", { text: protocol.label }),
      );
    }),
  );
  let haveModels = false;
  let busy = false;
  const refresh = () => {
    streamButton.disabled = busy || !haveModels;
    compareButton.disabled = busy || !haveModels;
    stopButton.disabled = !busy;
  };
  refresh();

  return {
    element,
    apiKeyInput,
    stopButton,
    compareButton,
    values() {
      const chosen = new FormData(element).get("protocol");
      const protocol = typeof chosen === "string" && isProtocolId(chosen) ? chosen : "connect";
      return {
        protocol,
        request: {
          modelId: model.value,
          prompt: prompt.value,
          // Sent as typed: the server's own check names a bad batch size.
          batchSize: Math.trunc(Number(batchSize.value)),
        },
        apiKey: apiKeyInput.value.trim(),
      };
    },
    setModels(models, maxBatchSize) {
      const chosen = model.value;
      model.replaceChildren(
        ...models.map((info) =>
          h("option", {
            text: `${info.id} · ${info.width}×${info.height} · ~${formatBytes(Number(info.typicalImageBytes))}`,
            attrs: { value: info.id },
          }),
        ),
      );
      const keep =
        models.find((info) => info.id === chosen) ??
        models.find((info) => info.id === "scene-1024");
      if (keep !== undefined) model.value = keep.id;
      batchSize.title = `1 to ${maxBatchSize}`;
      haveModels = models.length > 0;
      refresh();
    },
    setBusy(next) {
      busy = next;
      refresh();
    },
  };
}
