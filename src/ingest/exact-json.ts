/**
 * JSON numbers that JSON.parse and JSON.stringify cannot carry: integers past 2^53 (JSON.parse
 * rounds 9007199254740993 to …992) and numbers past a double's range (1e400 becomes Infinity,
 * 1e-400 becomes 0). Records that may hold one are read again here: each integer past 2^53 becomes
 * a BigInt with its exact digits, and a number out of range is an error (a dead letter). The text is
 * still parsed by JSON.parse, so every other rule (a repeated key: the last one wins) stays its own.
 */

/** A string no record holds, marking an integer's digits while JSON.parse reads the text. */
const MARK = 'smelt:int:';
const MARK_JSON = `\\u0000${MARK}`;
const MARK_VALUE = `\u0000${MARK}`;
const MARKED = new RegExp(`"\\\\u0000${MARK}(-?\\d+)"`, 'g');

/**
 * Text that may hold such a number: 16+ digits in a row (every integer past 2^53 has them) or a
 * three-digit exponent. Digits inside a string match too; such a record is only read a second time.
 */
const MAYBE_INEXACT = /\d{16}|\d[eE][-+]?\d{3}/;

/** JSON's whitespace: space, line feed, carriage return, tab. */
export const isJsonSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** The index just past the JSON string whose opening quote is at `i` (in text JSON.parse accepts). */
export function jsonStringEnd(text: string, i: number): number {
  for (i++; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x22) break;
  }
  return i + 1;
}

const isNumberChar = (c: number) => (c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46 || c === 101 || c === 69;

/**
 * `text` (which JSON.parse accepts) with every integer past 2^53 written as a marked string, or
 * why a number cannot be read; undefined when nothing needs to change.
 */
function markInexact(text: string): { text: string } | { error: string } | undefined {
  let out = '';
  let last = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      i = jsonStringEnd(text, i); // digits inside a string are no number
    } else if (c === 45 || (c >= 48 && c <= 57)) {
      const start = i;
      while (i < n && isNumberChar(text.charCodeAt(i))) i++;
      const token = text.slice(start, i);
      const v = Number(token);
      if (/^-?\d+$/.test(token)) {
        if (!Number.isSafeInteger(v)) {
          out += `${text.slice(last, start)}"${MARK_JSON}${token}"`;
          last = i;
        }
      } else if (!Number.isFinite(v) || (v === 0 && /[1-9]/.test(token.split(/[eE]/)[0]!))) {
        return { error: `number ${token.slice(0, 40)} is out of a double's range` };
      }
    } else {
      i++;
    }
  }
  return last === 0 ? undefined : { text: out + text.slice(last) };
}

const reviveMarked = (_k: string, v: unknown) => (typeof v === 'string' && v.startsWith(MARK_VALUE) ? BigInt(v.slice(MARK_VALUE.length)) : v);

/**
 * The value of `text` (one JSON.parse read as `parsed`) with its numbers exact, or why one cannot
 * be read. Cheap for the usual record: a regex test, no second parse.
 */
export function exactJson(text: string, parsed: unknown): { value: unknown } | { error: string } {
  if (!MAYBE_INEXACT.test(text) || text.includes(MARK)) return { value: parsed };
  const marked = markInexact(text);
  if (marked === undefined) return { value: parsed };
  if ('error' in marked) return marked;
  return { value: JSON.parse(marked.text, reviveMarked) };
}

/**
 * JSON text of a value that holds a BigInt, written as its digits (a JSON number), which
 * JSON.stringify refuses. `replacer` is applied first (it may turn bytes into text).
 */
export function stringifyWithBigInts(v: unknown, replacer?: (this: Record<string, unknown>, k: string, x: unknown) => unknown): string {
  const text = JSON.stringify(v, function (this: Record<string, unknown>, k: string, x: unknown) {
    const y = replacer ? replacer.call(this, k, x) : x;
    return typeof y === 'bigint' ? `${MARK_VALUE}${y}` : y;
  });
  return text.replace(MARKED, '$1');
}
