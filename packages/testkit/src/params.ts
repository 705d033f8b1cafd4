/**
 * Reading request parameters as the services do: a form sends every value as a string (`"42"`,
 * `"true"`, JSON text for structured fields), a JSON body sends typed values, and both are accepted.
 */

/** A parameter as text; structured values as their JSON. */
export function str(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** An integer parameter, or `fallback` when it is missing or not an integer. */
export function int(value: unknown, fallback: number): number {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  const s = str(value)?.trim();
  return s !== undefined && /^-?\d+$/.test(s) ? Number(s) : fallback;
}

export function bool(value: unknown): boolean {
  return value === true || value === 1 || value === 'true' || value === '1';
}

/**
 * A structured parameter: JSON text in a form, a value in a JSON body; `undefined` when empty.
 * Text that is not JSON throws `invalid()`, the service's own error.
 */
export function structured(value: unknown, invalid: () => Error): unknown {
  if (typeof value !== 'string') return value;
  if (value === '') return undefined;
  const parsed = jsonOrUndefined(value);
  if (parsed === undefined) throw invalid();
  return parsed;
}

/** `text` parsed as JSON, or `undefined` when it is not JSON. */
export function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
