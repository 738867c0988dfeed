import type { WebResponse } from "./http-types.js";

/** Adds a field name to the response's Vary header, keeping what is there. */
export function addVary(res: WebResponse, field: string): void {
  const current = res.getHeader("vary");
  const fields =
    current === undefined
      ? []
      : String(current)
          .split(",")
          .map((f) => f.trim());
  if (!fields.some((f) => f.toLowerCase() === field.toLowerCase())) {
    fields.push(field);
  }
  res.setHeader("vary", fields.filter((f) => f !== "").join(", "));
}
