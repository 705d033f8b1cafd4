import { ConfigError, describeValue } from './errors.js';

/** Options must be a plain object (or omitted): catches `new EarlyStopping('validLoss')`-style mistakes. */
export function checkOptions<T extends object>(where: string, options: T | undefined, example: string): T {
  if (options === undefined) return {} as T;
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw new ConfigError(`${where}: options must be an object such as ${example}; received ${describeValue(options)}.`);
  return options;
}

export function checkBoolean(where: string, name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new ConfigError(`${where}: ${name} must be true or false; received ${describeValue(value)}.`);
  return value;
}

export function checkNonNegative(where: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new ConfigError(`${where}: ${name} must be a finite number >= 0; received ${describeValue(value)}.`);
  return value;
}

export function checkPositive(where: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    throw new ConfigError(`${where}: ${name} must be a finite number > 0; received ${describeValue(value)}.`);
  return value;
}

export function checkInteger(where: string, name: string, value: unknown, min: number, what?: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min)
    throw new ConfigError(`${where}: ${name} must be an integer >= ${min}${what ? ` (${what})` : ''}; received ${describeValue(value)}.`);
  return value;
}
