import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeSource } from '../../../../test/contract/source-contract.js';
import { filesConnector } from './index.js';

let dir: string;
const line = (i: number) => JSON.stringify({ id: i, name: `n${i}` });

describeSource('files', {
  connector: filesConnector,
  async setup(count) {
    dir = mkdtempSync(join(tmpdir(), 'smelt-files-'));
    mkdirSync(join(dir, 'in'));
    // Two files, so resuming crosses a file boundary and a mid-file position.
    const half = Math.floor(count / 2);
    writeFileSync(join(dir, 'in/a.ndjson'), Array.from({ length: half }, (_, i) => line(i + 1)).join('\n') + '\n');
    writeFileSync(join(dir, 'in/b.ndjson'), Array.from({ length: count - half }, (_, i) => line(half + i + 1)).join('\n') + '\n');
    return { config: { type: 'files', streams: { items: { path: 'in/*.ndjson' } } }, stream: 'items', projectDir: dir };
  },
  async append(from, to) {
    writeFileSync(join(dir, 'in/c.ndjson'), Array.from({ length: to - from + 1 }, (_, i) => line(from + i)).join('\n') + '\n');
  },
  idOf: (r) => Number(JSON.parse(Buffer.from(r.raw as Uint8Array).toString('utf8')).id),
  brokenConfig: () => ({ type: 'files', streams: { items: { path: 'missing/*.csv' } } }),
  async teardown() {
    rmSync(dir, { recursive: true, force: true });
  },
});
