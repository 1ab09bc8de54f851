/** Connection and credential failures of the PostgreSQL source: clear reasons, never a password. */
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, spawnCli } from '../../../../test/helpers/project.js';
import { SERVER } from '../../../../test/helpers/pg-source.js';
import { postgresConnector } from './index.js';

function fakeServer(): Promise<{ port: number; server: Server }> {
  const server = createServer((sock) => {
    let buf = Buffer.alloc(0);
    let stage = 0;
    sock.on('error', () => undefined);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (stage === 0) {
        if (buf.length < 8 || buf.length < buf.readInt32BE(0)) return;
        const code = buf.readInt32BE(4);
        buf = buf.subarray(buf.readInt32BE(0));
        if (code === 80877103) { sock.write('N'); return; } // no TLS
        sock.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3])); // AuthenticationCleartextPassword
        stage = 1;
        return;
      }
      if (buf.length < 5 || buf.length < buf.readInt32BE(1) + 1) return;
      const password = buf.subarray(5, buf.readInt32BE(1) + 1).toString().replace(/\0$/, '');
      const fields = [['S', 'FATAL'], ['V', 'FATAL'], ['C', '28P01'], ['M', `password authentication failed for user "alice" (password "${password}")`]];
      const body = Buffer.concat([...fields.map(([k, v]) => Buffer.from(`${k}${v}\0`)), Buffer.from([0])]);
      const head = Buffer.alloc(5);
      head.write('E');
      head.writeInt32BE(body.length + 4, 1);
      sock.end(Buffer.concat([head, body]));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as AddressInfo).port, server })));
}

describe('postgres credentials', () => {
  const PASSWORD = 'Sup3r-s3cret-pw';
  let fake: { port: number; server: Server };
  beforeAll(async () => {
    fake = await fakeServer();
  });
  afterAll(async () => {
    await new Promise((r) => fake.server.close(r));
  });

  it('check(): wrong password → "authentication failed", without the password or a stack', async () => {
    for (const cfg of [
      { url: `postgres://alice:${PASSWORD}@127.0.0.1:${fake.port}/shop` },
      { host: '127.0.0.1', port: fake.port, user: 'alice', password: PASSWORD, database: 'shop' },
    ]) {
      const src = await postgresConnector.create(postgresConnector.parseConfig({ type: 'postgres', ...cfg, tables: ['customers'] }), { projectDir: '.', sourceName: 'pg' });
      const r = await src.check();
      await src.close();
      expect(r.ok).toBe(false);
      expect(r.reason).toMatch(/authentication failed/);
      expect(r.reason).toContain(`127.0.0.1:${fake.port}`);
      expect(r.reason).not.toContain(PASSWORD);
      expect(r.reason).not.toMatch(/\n\s+at /);
    }
  });

  it('check(): an unknown role on the real server, and an unreachable server, give clear reasons', async () => {
    const u = new URL(SERVER);
    u.username = 'smelt_no_such_role';
    u.password = PASSWORD;
    const a = await postgresConnector.create(postgresConnector.parseConfig({ type: 'postgres', url: u.toString(), tables: ['x'] }), { projectDir: '.', sourceName: 'pg' });
    const r = await a.check();
    await a.close();
    expect(r.reason).toMatch(/authentication failed: role "smelt_no_such_role" does not exist/);
    expect(r.reason).not.toContain(PASSWORD);
    const b = await postgresConnector.create(postgresConnector.parseConfig({ type: 'postgres', url: `postgres://u:${PASSWORD}@127.0.0.1:1/x`, tables: ['x'] }), { projectDir: '.', sourceName: 'pg' });
    const r2 = await b.check();
    await b.close();
    expect(r2.reason).toBe('cannot connect to PostgreSQL at 127.0.0.1:1/x: connection refused (is the server running?)');
  });

  it('smelt ingest with a wrong password fails with the reason and never prints the password', async () => {
    const p = makeProject({
      'smelt.config.ts': `import { defineConfig, env } from 'smelt';
export default defineConfig({ name: 'pgbad', sources: { pg: { type: 'postgres', url: env('PG_URL'), tables: ['customers'] } } });
`,
    });
    try {
      // Asynchronously: the fake server runs in this process.
      const child = spawnCli(['ingest', '--project-dir', p.dir], { env: { PG_URL: `postgres://alice:${PASSWORD}@127.0.0.1:${fake.port}/shop` } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
      const r = { code, stdout, stderr };
      expect(r.code).not.toBe(0);
      const out = r.stdout + r.stderr;
      expect(out).toMatch(/authentication failed/);
      expect(out).not.toContain(PASSWORD);
      expect(out).not.toMatch(/\n\s+at .*\.js/);
    } finally {
      p.remove();
    }
  });
});
