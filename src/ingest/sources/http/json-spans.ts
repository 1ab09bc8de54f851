/**
 * Where each record of a response body is in its text, so that a record lands as the API wrote
 * it (raw landing keeps its text; typed landing reads its numbers exactly, which JSON.parse of
 * the whole body would have rounded). The body has been read by JSON.parse already: this walks
 * valid JSON only, and follows its rules (a repeated key: the last one counts).
 */

import { isJsonSpace, jsonStringEnd } from '../../exact-json.js';

class Walker {
  i = 0;
  constructor(readonly text: string) {}

  space(): void {
    while (this.i < this.text.length && isJsonSpace(this.text.charCodeAt(this.i))) this.i++;
  }

  /** Skips one string (at its opening quote) and returns its raw text with the quotes. */
  string(): string {
    const start = this.i;
    this.i = jsonStringEnd(this.text, this.i);
    return this.text.slice(start, this.i);
  }

  /** Skips one value; returns its [start, end). */
  value(): [number, number] {
    this.space();
    const start = this.i;
    const c = this.text.charCodeAt(this.i);
    if (c === 0x22) this.string();
    else if (c === 0x7b || c === 0x5b) {
      let depth = 0;
      while (this.i < this.text.length) {
        const d = this.text.charCodeAt(this.i);
        if (d === 0x22) { this.string(); continue; }
        if (d === 0x7b || d === 0x5b) depth++;
        else if (d === 0x7d || d === 0x5d) depth--;
        this.i++;
        if (depth === 0) break;
      }
    } else {
      while (this.i < this.text.length && !/[\s,\]}]/.test(this.text[this.i]!)) this.i++;
    }
    return [start, this.i];
  }

  /** The span of the value at `key` in the object at the cursor (the last one, as JSON.parse keeps), or undefined. */
  member(key: string): [number, number] | undefined {
    this.space();
    if (this.text.charCodeAt(this.i) !== 0x7b) return undefined;
    this.i++;
    let found: [number, number] | undefined;
    for (;;) {
      this.space();
      if (this.text.charCodeAt(this.i) === 0x7d) return found;
      const k = JSON.parse(this.string()) as string;
      this.space();
      this.i++; // ':'
      const span = this.value();
      if (k === key) found = span;
      this.space();
      if (this.text.charCodeAt(this.i) === 0x2c) this.i++;
    }
  }

  /** The spans of the elements of the array at the cursor, or undefined when it is no array. */
  elements(): [number, number][] | undefined {
    this.space();
    if (this.text.charCodeAt(this.i) !== 0x5b) return undefined;
    this.i++;
    const out: [number, number][] = [];
    for (;;) {
      this.space();
      if (this.text.charCodeAt(this.i) === 0x5d) return out;
      out.push(this.value());
      this.space();
      if (this.text.charCodeAt(this.i) === 0x2c) this.i++;
    }
  }
}

/**
 * The text of each record in `body` (valid JSON): the elements of the array at `path` (dot
 * separated, as records_path), or of the body itself when it is an array, or the body when it is
 * one object. Undefined where the walk cannot find them (the caller serializes the parsed records).
 */
export function recordTexts(body: string, path: string | undefined): string[] | undefined {
  try {
    return walk(body, path);
  } catch {
    return undefined; // not reached for valid JSON; the parsed records serve
  }
}

function walk(body: string, path: string | undefined): string[] | undefined {
  const w = new Walker(body);
  let span: [number, number] = [0, body.length];
  for (const key of path ? path.split('.') : []) {
    w.i = span[0];
    const at = w.member(key);
    if (!at) return undefined;
    span = at;
  }
  w.i = span[0];
  w.space();
  if (w.text.charCodeAt(w.i) === 0x7b) return [body.slice(...w.value())];
  const els = w.elements();
  return els?.map(([a, b]) => body.slice(a, b));
}
