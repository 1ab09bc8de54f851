import { describe, expect, it } from 'vitest';
import { fileRows } from './file-batches.js';

describe('fileRows', () => {
  it('rounds a file down to whole row groups where the warehouse writes them whole', () => {
    expect(fileRows(250_000, 122_880)).toBe(245_760);
    expect(fileRows(1_000_000, 122_880)).toBe(983_040);
    expect(fileRows(245_760, 122_880)).toBe(245_760);
  });

  it('keeps the count as it is without row groups, or when it is not more than one group', () => {
    expect(fileRows(250_000, undefined)).toBe(250_000);
    expect(fileRows(100_000, 122_880)).toBe(100_000);
    expect(fileRows(122_880, 122_880)).toBe(122_880);
  });
});
