/** How the local Telegram server refuses a call: `{ ok: false, error_code, description }`. */

import { structured } from './params.js';

/** A Bot API refusal: `{ ok: false, error_code, description }`. */
export class BotApiError extends Error {
  constructor(
    readonly code: number,
    readonly description: string,
  ) {
    super(description);
  }
}

/** A structured parameter whose JSON text Telegram could not parse. */
export function botParam(value: unknown, error: string): unknown {
  return structured(value, () => new BotApiError(400, error));
}
