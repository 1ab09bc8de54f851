/** The HTTP source through `smelt ingest`: a project whose token comes from env(). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, TOKEN } from '../../../../test/helpers/http-api.js';
import { makeProject, spawnCli } from '../../../../test/helpers/project.js';

/** `smelt ingest` on a project whose token comes from env(). */
describe('http source through the CLI', () => {
  const api = new Api();
  let base: string;
  beforeAll(async () => {
    api.add(1, 120);
    base = await api.start();
  });
  afterAll(() => api.stop());

  const cli = (args: string[], cwd: string, env: Record<string, string>) =>
    new Promise<{ code: number; out: string }>((resolve) => {
      const child = spawnCli([...args, '--project-dir', cwd], { env });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('close', (code) => resolve({ code: code ?? -1, out }));
    });

  it('loads pages into bronze, stores the cursor, sends it next run, and never prints the token', async () => {
    const p = makeProject({
      'smelt.config.ts': `import { defineConfig, env } from 'smelt';
export default defineConfig({
  name: 'api',
  sources: {
    api: {
      type: 'http',
      base_url: '${base}',
      headers: { Authorization: env('API_AUTH') },
      backoff_ms: 1,
      disposition: 'merge',
      streams: {
        items: {
          path: '/items/cursor', records_path: 'items', primary_key: ['id'],
          pagination: { type: 'cursor', cursor_path: 'meta.next', size_param: 'limit', page_size: 50 },
          incremental: { param: 'since', cursor_field: 'updated_at' },
        },
      },
    },
  },
} as any);
`,
    });
    try {
      const good = { API_AUTH: `Bearer ${TOKEN}` };
      const r1 = await cli(['ingest'], p.dir, good);
      expect(r1.out).toMatch(/OK ingest bronze\.api_items 120 rows/);
      expect(r1.code).toBe(0);
      const q = await cli(['query', 'select count(*) as n, count(distinct id) as d, max(_smelt_index) as i from bronze.api_items', '--format', 'json'], p.dir, good);
      expect(JSON.parse(q.out)).toEqual([{ n: 120, d: 120, i: 49 }]);
      const st = await cli(['state', 'show'], p.dir, good);
      expect(st.out).toContain('{"cursor":120}');
      expect(st.out).not.toContain(TOKEN);

      api.hits = [];
      api.add(121, 125);
      const r2 = await cli(['ingest'], p.dir, good);
      expect(r2.out).toMatch(/5 rows/);
      expect(api.hits.map((h) => h.url.searchParams.get('since'))).toEqual(['120']);

      const bad = await cli(['ingest'], p.dir, { API_AUTH: 'Bearer leaked-if-you-see-this' });
      expect(bad.code).not.toBe(0);
      expect(bad.out).toMatch(/HTTP 401/);
      expect(bad.out).not.toContain('leaked-if-you-see-this');
    } finally {
      p.remove();
    }
  });
});
