import { describe, expect, it } from 'vitest';
import { fileRows, linesRows } from './file-batches.js';

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

describe('linesRows', () => {
  it('makes a lines file whole row groups, the nearest count to the one asked for, at least one group', () => {
    expect(linesRows(100_000, 122_880)).toBe(122_880);
    expect(linesRows(200_000, 122_880)).toBe(245_760);
    expect(linesRows(10_000, 122_880)).toBe(122_880);
    expect(linesRows(100_000, undefined)).toBe(100_000);
  });
});
