// The option checks core exports for callback and plugin authors: one message format in every
// package, `<where>: <name> must be <requirement>; received <value>.`, as a ConfigError.
import { ConfigError, checkBoolean, checkInteger, checkNonNegative, checkOptions, checkPositive } from '@epochcast/core';
import { describe, expect, test } from 'vitest';

function messageOf(check: () => unknown): string {
  try {
    check();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected the check to throw');
}

describe('checkOptions', () => {
  test('returns the options, or an empty object when they are omitted', () => {
    const options = { patience: 3 };
    expect(checkOptions('EarlyStopping', options, '{ patience: 3 }')).toBe(options);
    expect(checkOptions('EarlyStopping', undefined, '{ patience: 3 }')).toEqual({});
  });

  test('names an example when options are not an object', () => {
    for (const [value, shown] of [
      ['validLoss', '"validLoss"'],
      [null, 'null'],
      [[1], 'an array of length 1'],
      [3, '3'],
    ] as const) {
      expect(messageOf(() => checkOptions('EarlyStopping', value as never, "{ monitor: 'validLoss' }"))).toBe(
        `EarlyStopping: options must be an object such as { monitor: 'validLoss' }; received ${shown}.`,
      );
    }
  });
});

describe('checkBoolean', () => {
  test('passes true and false through', () => {
    expect(checkBoolean('CSVLogger', 'append', true)).toBe(true);
    expect(checkBoolean('CSVLogger', 'append', false)).toBe(false);
  });

  test('refuses anything else, truthy or not', () => {
    expect(messageOf(() => checkBoolean('CSVLogger', 'append', 'yes'))).toBe('CSVLogger: append must be true or false; received "yes".');
    expect(messageOf(() => checkBoolean('MyNotifier', 'silent', 1))).toBe('MyNotifier: silent must be true or false; received 1.');
    expect(messageOf(() => checkBoolean('MyNotifier', 'silent', undefined))).toBe(
      'MyNotifier: silent must be true or false; received undefined.',
    );
  });
});

describe('checkNonNegative', () => {
  test('passes finite numbers from 0 up', () => {
    expect(checkNonNegative('ProgressCallback', 'refreshMs', 0)).toBe(0);
    expect(checkNonNegative('ProgressCallback', 'refreshMs', 2.5)).toBe(2.5);
  });

  test('refuses negatives, NaN, infinities and non-numbers', () => {
    for (const [value, shown] of [
      [-1, '-1'],
      [Number.NaN, 'NaN'],
      [Number.POSITIVE_INFINITY, 'Infinity'],
      ['5', '"5"'],
    ] as const) {
      expect(messageOf(() => checkNonNegative('ProgressCallback', 'refreshMs', value))).toBe(
        `ProgressCallback: refreshMs must be a finite number >= 0; received ${shown}.`,
      );
    }
  });
});

describe('checkPositive', () => {
  test('passes finite numbers above 0', () => {
    expect(checkPositive('MyNotifier', 'timeoutMs', 1e-9)).toBe(1e-9);
    expect(checkPositive('MyNotifier', 'timeoutMs', 10_000)).toBe(10_000);
  });

  test('refuses 0, negatives, NaN, infinities and non-numbers', () => {
    for (const [value, shown] of [
      [0, '0'],
      [-5, '-5'],
      [Number.NaN, 'NaN'],
      [Number.POSITIVE_INFINITY, 'Infinity'],
      [null, 'null'],
    ] as const) {
      expect(messageOf(() => checkPositive('MyNotifier', 'timeoutMs', value))).toBe(
        `MyNotifier: timeoutMs must be a finite number > 0; received ${shown}.`,
      );
    }
  });
});

describe('checkInteger', () => {
  test('passes integers from min up', () => {
    expect(checkInteger('MyNotifier', 'every', 1, 1)).toBe(1);
    expect(checkInteger('EarlyStopping', 'patience', 0, 0, 'a number of epochs')).toBe(0);
    expect(checkInteger('EarlyStopping', 'patience', 12, 0, 'a number of epochs')).toBe(12);
  });

  test('refuses fractions, values below min and non-numbers, saying what the number counts', () => {
    expect(messageOf(() => checkInteger('MyNotifier', 'every', 0, 1))).toBe('MyNotifier: every must be an integer >= 1; received 0.');
    expect(messageOf(() => checkInteger('MyNotifier', 'retries', -1, 0))).toBe('MyNotifier: retries must be an integer >= 0; received -1.');
    expect(messageOf(() => checkInteger('EarlyStopping', 'patience', 1.5, 0, 'a number of epochs'))).toBe(
      'EarlyStopping: patience must be an integer >= 0 (a number of epochs); received 1.5.',
    );
    expect(messageOf(() => checkInteger('MyNotifier', 'every', '2', 1))).toBe('MyNotifier: every must be an integer >= 1; received "2".');
    expect(messageOf(() => checkInteger('MyNotifier', 'every', Number.POSITIVE_INFINITY, 1))).toBe(
      'MyNotifier: every must be an integer >= 1; received Infinity.',
    );
  });
});
