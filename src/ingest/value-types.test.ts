import { describe, expect, it } from 'vitest';
import type { LogicalType } from '../core/types.js';
import { decimalPlaces, fits, inferValueType } from './value-types.js';

/** Each case: a value, the declared type, whether it fits. */
const check = (cases: [unknown, LogicalType, boolean][]) => {
  for (const [v, t, ok] of cases) expect([v, t, fits(v, t)]).toEqual([v, t, ok]);
};

describe('fits: a declared value the warehouse would refuse for the whole batch is refused here, one record at a time', () => {
  it('dates: only real calendar days (Date.parse rolls 2024-02-30 over into March)', () => {
    check([
      ['2024-02-29', 'date', true], ['2000-02-29', 'date', true], ['2024-02-30', 'date', false], ['2023-02-29', 'date', false],
      ['1900-02-29', 'date', false], ['2024-04-31', 'date', false], ['2024-13-01', 'date', false],
      ['2024-04-30 10:00:00Z', 'timestamptz', true], ['2024-04-31T10:00:00Z', 'timestamptz', false],
      // Offsets as PostgreSQL writes them (hours only) and with minutes, with or without a colon.
      ['2024-01-01 10:00:00+00', 'timestamptz', true], ['2024-01-01 10:00:00.5-05', 'timestamptz', true], ['2024-01-01T10:00:00+0530', 'timestamptz', true],
      ['2024-01-01 10:00:00+05:30', 'timestamptz', true], ['2024-01-01 10:00:00+5', 'timestamptz', false],
    ]);
  });

  it('decimals: at most 29 digits before the point (DECIMAL(38, 9)), and finite', () => {
    check([
      ['12345678901234567890123456789.5', 'decimal', true], ['-12345678901234567890123456789', 'decimal', true],
      ['123456789012345678901234567890', 'decimal', false], ['1e400', 'decimal', false], ['1e28', 'decimal', true],
      [Number.POSITIVE_INFINITY, 'decimal', false], [10n ** 30n, 'decimal', false], [-(10n ** 20n), 'decimal', true],
    ]);
  });

  it('decimals: at most 9 places after the point, which DuckDB and PostgreSQL would round away', () => {
    check([
      ['0.123456789', 'decimal', true], ['0.1234567891', 'decimal', false], ['1.12345678900', 'decimal', true], ['-0.0000000001', 'decimal', false],
      ['1e-9', 'decimal', true], ['1.5e-9', 'decimal', false], ['120e-10', 'decimal', true], ['0.000000000000', 'decimal', true],
      [0.1234567891, 'decimal', false], [0.25, 'decimal', true], [1.5e-10, 'decimal', false], [1e-9, 'decimal', true], [1e21, 'decimal', true],
    ]);
    expect(['1.50', '12e-3', '120e-10', '1.5e2', '0', '-0.00', '1.000000000001', '1E-12', '+3.14'].map(decimalPlaces)).toEqual([1, 3, 9, 0, 0, 0, 12, 12, 2]);
  });

  it('bigint: a BigInt only within 64 bits', () => {
    check([
      [2n ** 63n - 1n, 'bigint', true], [-(2n ** 63n), 'bigint', true], [2n ** 63n, 'bigint', false], ['9223372036854775808', 'bigint', false],
    ]);
  });
});

describe('inferValueType: an exact integer past 64 bits is a decimal, past DECIMAL(38, 9) a double', () => {
  it('types', () => {
    expect([2n ** 53n + 1n, 2n ** 63n, -(10n ** 28n), 10n ** 29n, 9007199254740993].map(inferValueType)).toEqual(['bigint', 'decimal', 'decimal', 'double', 'bigint']);
  });
});
