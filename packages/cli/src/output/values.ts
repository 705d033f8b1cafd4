// Numbers as training output prints them, and the split of an epoch's numbers into losses, lr and metrics.

const DECIMAL = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;
const NON_FINITE = /^([-+]?)(?:nan|inf|infinity)$/i;

/**
 * `0.1234`, `6.8665e-04`, `1.23e-5`, `-3`, and the non-finite `nan`, `inf`, `-inf` (Python's spellings,
 * JSON's `NaN`/`Infinity` too): a diverged loss is printed as `nan`, and is news, not noise.
 */
export function parseNumber(token: string): number | undefined {
  if (token.length === 0 || token.length > 64) return undefined;
  if (DECIMAL.test(token)) return Number(token);
  const nonFinite = NON_FINITE.exec(token);
  if (nonFinite === null) return undefined;
  if (/nan/i.test(token)) return Number.NaN;
  return nonFinite[1] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
}

/** An epoch's numbers, sorted out. */
export interface EpochValues {
  trainLoss?: number;
  validLoss?: number;
  lr?: number;
  metrics: Record<string, number>;
}

/** Which names a format uses for the training loss, the validation loss and the learning rate, most telling first. */
export interface ValueNames {
  train: readonly string[];
  valid: readonly string[];
  lr: readonly string[];
}

// An epoch report goes into a message: a hostile line with ten thousand `k=1` pairs must not make it huge.
const METRICS_MAX = 64;
const NAME_MAX = 128;
const VALIDATION = /^(?:val|eval|valid|validation)_/;

export function isValidationName(name: string): boolean {
  return VALIDATION.test(name);
}

/**
 * Splits `values` (in the order the output printed them): the first present name of each of
 * `names.train`, `names.valid` and `names.lr` becomes that field, every other number a metric by its
 * own name, validation ones first.
 */
export function epochValues(values: ReadonlyMap<string, number>, names: ValueNames): EpochValues {
  const pick = (candidates: readonly string[]): string | undefined => candidates.find((name) => values.has(name));
  const train = pick(names.train);
  const valid = pick(names.valid);
  const lr = pick(names.lr);
  const out: EpochValues = { metrics: {} };
  if (train !== undefined) out.trainLoss = values.get(train);
  if (valid !== undefined) out.validLoss = values.get(valid);
  if (lr !== undefined) out.lr = values.get(lr);
  const rest = [...values].filter(([name]) => name !== train && name !== valid && name !== lr && usableName(name));
  let count = 0;
  for (const [name, value] of [...rest.filter(([n]) => isValidationName(n)), ...rest.filter(([n]) => !isValidationName(n))]) {
    if (count++ >= METRICS_MAX) break;
    out.metrics[name] = value;
  }
  return out;
}

// `__proto__` would set the object's prototype instead of a metric.
function usableName(name: string): boolean {
  return name.length > 0 && name.length <= NAME_MAX && name !== '__proto__';
}
