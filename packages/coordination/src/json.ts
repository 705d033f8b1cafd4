/** What a peer sent, once parsed: only its shape is known, so every field is checked before use. */
export type JsonObject = { readonly [key: string]: unknown };

/** Deeper than any message of epochcast's: JSON.parse takes tens of ms over a line of thousands of nested arrays. */
const MAX_DEPTH = 32;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `text` parsed, when it is a JSON object; undefined for anything else, as a peer's garbage must
 * never throw, nor hold the event loop: nesting is bounded before JSON.parse sees the text.
 */
export function parseJsonObject(text: string): JsonObject | undefined {
  if (!shallow(text)) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return isJsonObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Whether brackets outside strings nest at most MAX_DEPTH deep: one linear pass. */
function shallow(text: string): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_DEPTH) return false;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return true;
}
