/**
 * Option checks, one message format for every package: `<where>: <name> must be <requirement>;
 * received <value>.` Callbacks and notifier plugins validate their options with these at
 * construction, so a bad setting fails before training starts and reads the same everywhere.
 */
import { ConfigError, describeValue } from './errors.js';

/** The error for an option that is not what it must be; `hint` (a sentence) says how to fix it. */
export function invalidOption(where: string, name: string, requirement: string, value: unknown, hint?: string): ConfigError {
  return new ConfigError(`${where}: ${name} must be ${requirement}; received ${describeValue(value)}.${hint ? ` ${hint}` : ''}`);
}

/** Options must be a plain object (or omitted): catches `new EarlyStopping('validLoss')`-style mistakes. */
export function checkOptions<T extends object>(where: string, options: T | undefined, example: string): T {
  if (options === undefined) return {} as T;
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw new ConfigError(`${where}: options must be an object such as ${example}; received ${describeValue(options)}.`);
  return options;
}

export function checkBoolean(where: string, name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidOption(where, name, 'true or false', value);
  return value;
}

export function checkNonNegative(where: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw invalidOption(where, name, 'a finite number >= 0', value);
  return value;
}

export function checkPositive(where: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw invalidOption(where, name, 'a finite number > 0', value);
  return value;
}

/** An integer >= `min`; `what` says what it counts, e.g. `a number of epochs`. */
export function checkInteger(where: string, name: string, value: unknown, min: number, what?: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min)
    throw invalidOption(where, name, `an integer >= ${min}${what ? ` (${what})` : ''}`, value);
  return value;
}

// ---- the training loop's own settings --------------------------------------------------------

export function checkLr(where: string, name: string, lr: unknown): number {
  if (typeof lr !== 'number' || !Number.isFinite(lr) || lr <= 0)
    throw invalidOption(where, name, 'a finite number > 0', lr, `Try ${name}: 1e-3, or run learn.lrFind() for a suggestion.`);
  return lr;
}

export function checkMom(where: string, mom: unknown): number {
  if (typeof mom !== 'number' || !(mom >= 0 && mom < 1)) throw invalidOption(where, 'mom', 'a number in [0, 1)', mom);
  return mom;
}

export function checkEpochs(where: string, epochs: unknown): number {
  return checkInteger(where, 'epochs', epochs, 1);
}

/** `Infinity` is allowed: it means never yield. */
export function checkYieldEveryMs(where: string, value: unknown): number {
  if (typeof value !== 'number' || !(value >= 0)) throw invalidOption(where, 'yieldEveryMs', 'a number >= 0', value);
  return value;
}
