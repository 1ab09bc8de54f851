import { describe, expect, it } from 'vitest';
import { fits } from './value-types.js';

describe('fits: a declared value the warehouse would refuse for the whole batch is refused here, one record at a time', () => {
  it('dates: only real calendar days (Date.parse rolls 2024-02-30 over into March)', () => {
    expect(fits('2024-02-29', 'date')).toBe(true);
    expect(fits('2000-02-29', 'date')).toBe(true);
    expect(fits('2024-02-30', 'date')).toBe(false);
    expect(fits('2023-02-29', 'date')).toBe(false);
    expect(fits('1900-02-29', 'date')).toBe(false);
    expect(fits('2024-04-31', 'date')).toBe(false);
    expect(fits('2024-13-01', 'date')).toBe(false);
    expect(fits('2024-04-30 10:00:00Z', 'timestamptz')).toBe(true);
    expect(fits('2024-04-31T10:00:00Z', 'timestamptz')).toBe(false);
  });

  it('decimals: at most 29 digits before the point (DECIMAL(38, 9)), and finite', () => {
    expect(fits('12345678901234567890123456789.5', 'decimal')).toBe(true);
    expect(fits('-12345678901234567890123456789', 'decimal')).toBe(true);
    expect(fits('123456789012345678901234567890', 'decimal')).toBe(false);
    expect(fits('1e400', 'decimal')).toBe(false);
    expect(fits('1e28', 'decimal')).toBe(true);
    expect(fits(Number.POSITIVE_INFINITY, 'decimal')).toBe(false);
    expect(fits(10n ** 30n, 'decimal')).toBe(false);
    expect(fits(-(10n ** 20n), 'decimal')).toBe(true);
  });
});
