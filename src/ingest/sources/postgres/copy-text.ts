/**
 * PostgreSQL's COPY text format, parsed: rows end with `\n`, fields are split by
 * tabs, `\N` is NULL, and backslash escapes stand for the special characters.
 * Chunks from the server end anywhere (mid-row, mid-UTF-8 character); only
 * whole rows are decoded, the tail waits for the next chunk.
 */

export type Convert = (text: string) => unknown;

const ESC: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** Undoes COPY's backslash escapes in one field. */
export function unescapeField(s: string): string {
  let out = '';
  let from = 0;
  for (let i = s.indexOf('\\'); i >= 0 && i < s.length - 1; i = s.indexOf('\\', from)) {
    out += s.slice(from, i);
    const c = s[i + 1]!;
    if (ESC[c] !== undefined) {
      out += ESC[c];
      from = i + 2;
    } else if (c >= '0' && c <= '7') {
      let j = i + 1;
      while (j < i + 4 && j < s.length && s[j]! >= '0' && s[j]! <= '7') j++;
      out += String.fromCharCode(parseInt(s.slice(i + 1, j), 8));
      from = j;
    } else if (c === 'x' && /[0-9a-fA-F]/.test(s[i + 2] ?? '')) {
      let j = i + 2;
      while (j < i + 4 && j < s.length && /[0-9a-fA-F]/.test(s[j]!)) j++;
      out += String.fromCharCode(parseInt(s.slice(i + 2, j), 16));
      from = j;
    } else {
      out += c;
      from = i + 2;
    }
  }
  return out + s.slice(from);
}

/**
 * Parses whole rows (`text` holds one or more rows, without the last `\n`) into `out`. Fields are
 * unescaped before `convert` unless `raw` (then `convert` gets the field as sent).
 */
export function parseRows(text: string, convert: readonly Convert[], out: unknown[][], raw = false): void {
  const n = convert.length;
  let start = 0;
  for (;;) {
    let end = text.indexOf('\n', start);
    const last = end < 0;
    if (last) end = text.length;
    const row = new Array(n);
    let from = start;
    for (let i = 0; i < n; i++) {
      let to = i === n - 1 ? end : text.indexOf('\t', from);
      if (to < 0 || to > end) to = end;
      const f = text.slice(from, to);
      if (f.length === 2 && f === '\\N') row[i] = null;
      else row[i] = convert[i]!(raw || f.indexOf('\\') < 0 ? f : unescapeField(f));
      from = to + 1;
    }
    out.push(row);
    if (last) return;
    start = end + 1;
  }
}

/**
 * How a column's text becomes a value: `plain` text never holds escapes (numbers, dates, uuids), `text`
 * may; `tstz` gets `Z` for UTC; `json` is parsed; `bytea` is hex (`\\x…` on the wire).
 */
export type FieldKind = 'bool' | 'int' | 'float' | 'plain' | 'text' | 'tstz' | 'json' | 'bytea';

const EXPR: Record<FieldKind, string> = {
  bool: "f === 't'",
  int: '+f',
  float: '+f',
  plain: 'f',
  text: "(f.indexOf('\\\\') < 0 ? f : u(f))",
  tstz: "(f.endsWith('+00') ? f.slice(0, -3) + 'Z' : f)",
  json: "JSON.parse(f.indexOf('\\\\') < 0 ? f : u(f))",
  bytea: "B.from(f.slice(3), 'hex')",
};

export type RowParser = (text: string, out: Record<string, unknown>[]) => void;

/**
 * A parser for one column list, generated once per read: it builds each row's
 * object directly, with the conversions inlined (the hot loop of a full load).
 */
export function rowParser(columns: readonly { name: string; kind: FieldKind }[]): RowParser {
  const names = columns.map((c) => c.name);
  if (names.length === 0 || names.includes('__proto__') || new Set(names).size !== names.length) {
    const convert = columns.map((c) => new Function('u', 'B', `return (f) => ${EXPR[c.kind]};`)(unescapeField, Buffer) as Convert);
    return (text, out) => {
      const rows: unknown[][] = [];
      parseRows(text, convert, rows, true);
      for (const r of rows) {
        const o: Record<string, unknown> = Object.create(null);
        names.forEach((n, i) => { if (!(n in o)) o[n] = r[i]; });
        out.push(o);
      }
    };
  }
  const n = columns.length;
  const body: string[] = ['let start = 0;', 'for (;;) {', "  let end = text.indexOf('\\n', start);", '  const last = end < 0;', '  if (last) end = text.length;', '  let from = start, to, f;'];
  columns.forEach((c, i) => {
    body.push(i < n - 1 ? "  to = text.indexOf('\\t', from); if (to < 0 || to > end) to = end;" : '  to = end;');
    body.push(`  f = text.slice(from, to); from = to + 1;`);
    body.push(`  const v${i} = f.length === 2 && f === '\\\\N' ? null : ${EXPR[c.kind]};`);
  });
  body.push(`  out.push({ ${names.map((nm, i) => `${JSON.stringify(nm)}: v${i}`).join(', ')} });`);
  body.push('  if (last) return;', '  start = end + 1;', '}');
  return new Function('u', 'B', `return function parseCopyRows(text, out) {\n${body.join('\n')}\n};`)(unescapeField, Buffer) as RowParser;
}

/** Turns a stream of COPY chunks into chunks of parsed rows. */
export async function* copyRecords(chunks: AsyncIterable<Buffer>, parse: RowParser): AsyncIterable<Record<string, unknown>[]> {
  let rest: Buffer | undefined;
  for await (const chunk of chunks) {
    const buf = rest ? Buffer.concat([rest, chunk]) : chunk;
    const nl = buf.lastIndexOf(10);
    if (nl < 0) {
      rest = buf;
      continue;
    }
    rest = nl + 1 < buf.length ? Buffer.from(buf.subarray(nl + 1)) : undefined;
    const rows: Record<string, unknown>[] = [];
    parse(buf.toString('utf8', 0, nl), rows);
    yield rows;
  }
  if (rest && rest.length) throw new Error('COPY output ended in the middle of a row');
}

/** Turns a stream of COPY chunks into chunks of parsed rows (values in column order). */
export async function* copyRows(chunks: AsyncIterable<Buffer>, convert: readonly Convert[]): AsyncIterable<unknown[][]> {
  let rest: Buffer | undefined;
  for await (const chunk of chunks) {
    const buf = rest ? Buffer.concat([rest, chunk]) : chunk;
    const nl = buf.lastIndexOf(10);
    if (nl < 0) {
      rest = buf;
      continue;
    }
    rest = nl + 1 < buf.length ? Buffer.from(buf.subarray(nl + 1)) : undefined;
    const rows: unknown[][] = [];
    parseRows(buf.toString('utf8', 0, nl), convert, rows);
    yield rows;
  }
  if (rest && rest.length) throw new Error('COPY output ended in the middle of a row');
}
