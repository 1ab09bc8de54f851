/**
 * normalizeBatch's two warehouse-dependent modes: JSON text handed on unparsed (raw landing on a
 * warehouse that validates JSON as it loads) and NUL characters dead-lettered (a warehouse whose
 * text cannot hold them). Everything else about normalize is covered through ingestion tests.
 */
import { describe, expect, it } from 'vitest';
import { normalizeBatch, type NormalizeInput } from './normalize.js';
import type { SourceRecord } from './source.js';

const stream = { name: 's', positionFields: [{ name: 'offset', type: 'bigint' as const }] };
const raw = (landing: 'raw' | 'typed', records: SourceRecord[], extra: Partial<NormalizeInput> = {}) =>
  normalizeBatch({
    stream,
    options: { landing, schema_contract: 'evolve', max_record_bytes: 64 },
    tableColumns: [],
    tableExists: false,
    records,
    ...extra,
  });
const at = (offset: number, r: Omit<SourceRecord, 'position'>): SourceRecord => ({ ...r, position: { offset } });

describe('normalizeBatch, jsonText', () => {
  const records = [
    at(0, { raw: Buffer.from(' {"b": 1e400, "a": "x"}\n') }), // kept as written: JSON.parse would turn 1e400 into null
    at(1, { raw: Buffer.from('[1, 2]') }),
    at(2, { raw: Buffer.from([0x7b, 0xff, 0x7d]) }),
    at(3, { raw: Buffer.from(`{"long": "${'x'.repeat(80)}"}`) }),
    at(4, { raw: '{"s": "text"}' }),
    at(5, { raw: Buffer.from('{"cut": }') }), // passes the cheap checks: the warehouse refuses it, then it is parsed
  ];

  it('hands valid-looking JSON objects on as their text, and checks the rest as the parsing path does', () => {
    const n = raw('raw', records, { jsonText: 'pass' });
    expect(n.columns).toEqual([{ name: 'payload', type: 'json' }]);
    expect(n.rows).toEqual([[' {"b": 1e400, "a": "x"}\n'], ['{"s": "text"}'], ['{"cut": }']]);
    expect(n.positions).toEqual([{ offset: 0 }, { offset: 4 }, { offset: 5 }]);
    expect(n.deadLetters.map((d) => [d.position.offset, d.error])).toEqual([
      [1, 'expected a JSON object, got an array'],
      [2, 'invalid UTF-8'],
      [3, 'record of 92 bytes exceeds max_record_bytes (64)'],
    ]);
  });

  it('unset: parses every record, so malformed JSON is a dead letter, and lands the text as written', () => {
    const n = raw('raw', records);
    expect(n.rows).toEqual([[' {"b": 1e400, "a": "x"}\n'], ['{"s": "text"}']]);
    expect(n.deadLetters.map((d) => d.position.offset)).toEqual([1, 2, 3, 5]);
    expect(n.deadLetters[3]!.error).toMatch(/^malformed JSON/);
  });

  it('a record given as a value (no text) lands serialized', () => {
    expect(raw('raw', [at(0, { data: { a: 1, b: [true, null] } })]).rows).toEqual([['{"a":1,"b":[true,null]}']]);
  });

  it('dead-letters an escaped lone surrogate, which JSON.parse takes and no warehouse JSON does; pairs and escaped backslashes pass', () => {
    const texts = [
      '{"a": "\\ud800"}', // lone high
      '{"a": "\\udc00x"}', // lone low
      '{"a": "\\ud83d\\ude00"}', // a pair (an emoji): fine
      '{"a": "\\\\ud800"}', // an escaped backslash, then the letters ud800: fine
      '{"a": "\\ud83d", "b": "\\ude00"}', // high and low in different strings
      '{"a": "\\uD83D\\uDE00 \\ud800"}', // upper case pair, then a lone one
      '{"a": "\\ud800\\n\\udc00"}', // not adjacent
    ];
    const n = raw('raw', texts.map((t, i) => at(i, { raw: t })));
    expect(n.positions).toEqual([{ offset: 2 }, { offset: 3 }]);
    expect(n.deadLetters.map((d) => [d.position.offset, d.error.slice(0, 32)])).toEqual([
      [0, 'unpaired surrogate escape \\ud800'], [1, 'unpaired surrogate escape \\udc00'], [4, 'unpaired surrogate escape \\ud83d'],
      [5, 'unpaired surrogate escape \\ud800'], [6, 'unpaired surrogate escape \\ud800'],
    ]);
  });
});

describe('normalizeBatch, rejectsNul', () => {
  it('dead-letters raw records whose JSON holds \\u0000, passed on or parsed', () => {
    const records = [at(0, { raw: '{"a": "x\\u0000y"}' }), at(1, { raw: '{"a": "escaped \\\\u0000 is text"}' }), at(2, { raw: '{"a": 1}' })];
    for (const jsonText of ['pass', undefined] as const) {
      const n = raw('raw', records, { jsonText, rejectsNul: true });
      expect(n.positions, `jsonText ${jsonText}`).toEqual([{ offset: 1 }, { offset: 2 }]);
      expect(n.deadLetters.map((d) => [d.position.offset, d.error])).toEqual([[0, "column 'payload' holds the NUL character (\\u0000), which the warehouse cannot store in JSON"]]);
    }
    expect(raw('raw', records, { jsonText: 'pass' }).rows).toHaveLength(3);
  });

  it('dead-letters typed records with NUL in a text or JSON value, and adds no column for them', () => {
    const records = [
      at(0, { data: { id: 1, name: 'a' } }),
      at(1, { data: { id: 2, name: 'b\u0000c' } }),
      at(2, { data: { id: 3, name: 'd', extra: { deep: ['\u0000'] } } }),
      at(3, { data: { id: 4, name: 'e' } }),
    ];
    const n = raw('typed', records, { rejectsNul: true });
    expect(n.columns.map((c) => c.name)).toEqual(['id', 'name']);
    expect(n.rows).toEqual([[1, 'a'], [4, 'e']]);
    expect(n.deadLetters.map((d) => [d.position.offset, d.error])).toEqual([
      [1, "column 'name' holds the NUL character (\\u0000), which the warehouse cannot store in text"],
      [2, "column 'extra' holds the NUL character (\\u0000), which the warehouse cannot store in JSON"],
    ]);
    expect(raw('typed', records).rows).toHaveLength(4);
  });
});

describe('normalizeBatch, exact JSON numbers (typed landing)', () => {
  it('keeps integers past 2^53 exact, types those past 2^63 as decimal, and dead-letters numbers out of a double range', () => {
    const n = raw('typed', [
      at(0, { raw: '{"id": 9007199254740993, "big": 36893488147419103232, "nested": {"n": 12345678901234567890}, "phone": "0123456789012345678"}' }),
      at(1, { raw: '{"id": 1e400}' }),
      at(2, { raw: '{"id": 2, "tiny": -1.5e-400}' }),
      at(3, { raw: '{"id": 3, "id": 9223372036854775807}' }), // a repeated key: the last one wins, as JSON.parse reads it
    ], { options: { landing: 'typed', schema_contract: 'evolve', max_record_bytes: 1024 } });
    expect(n.columns).toEqual([
      { name: 'id', type: 'bigint' },
      { name: 'big', type: 'decimal' },
      { name: 'nested', type: 'json' },
      { name: 'phone', type: 'varchar' },
    ]);
    expect(n.rows).toEqual([
      [9007199254740993n, 36893488147419103232n, '{"n":12345678901234567890}', '0123456789012345678'],
      [9223372036854775807n, null, null, null],
    ]);
    expect(n.deadLetters.map((d) => [d.position.offset, d.error])).toEqual([
      [1, "number 1e400 is out of a double's range"],
      [2, "number -1.5e-400 is out of a double's range"],
    ]);
  });
});

describe('normalizeBatch, declared columns (typed landing)', () => {
  const declaredStream = { ...stream, columns: [{ name: 'n', type: 'integer' as const }, { name: 'amount', type: 'decimal' as const }] };
  const opts = { landing: 'typed' as const, schema_contract: 'freeze' as const, max_record_bytes: 1024 };

  it('dead-letters a declared decimal with more places than the column keeps, saying why, instead of rounding it', () => {
    const n = raw('typed', [at(0, { raw: '{"n": 1, "amount": 0.1234567891}' }), at(1, { raw: '{"n": 2, "amount": "1.500000000000"}' }), at(2, { raw: '{"n": 3, "amount": "2.0000000001"}' })], { stream: declaredStream, options: opts });
    expect(n.rows).toEqual([[2, '1.500000000000']]);
    expect(n.deadLetters.map((d) => [d.position.offset, d.error])).toEqual([
      [0, 'column \'amount\' is declared decimal; got 0.1234567891 (10 places after the point; a decimal column holds 9 and would round it: declare it double or varchar)'],
      [2, 'column \'amount\' is declared decimal; got "2.0000000001" (10 places after the point; a decimal column holds 9 and would round it: declare it double or varchar)'],
    ]);
  });

  it('an exact integer past 2^53 that does not fit a declared column is a dead letter naming its digits', () => {
    const n = raw('typed', [at(0, { raw: '{"n": 123456789012345678901234}' }), at(1, { raw: '{"n": 5, "amount": 36893488147419103232}' })], { stream: declaredStream, options: opts });
    expect(n.deadLetters.map((d) => [d.position.offset, d.error])).toEqual([[0, "column 'n' is declared integer; got 123456789012345678901234"]]);
    expect(n.rows).toEqual([[5, 36893488147419103232n]]);
  });
});
