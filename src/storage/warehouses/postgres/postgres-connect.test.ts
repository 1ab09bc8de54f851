import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../../../../test/postgres/pg-test-db.js';
import { WarehouseError } from '../../../core/errors.js';
import { postgresAdapter } from './index.js';

const available = await postgresAvailable();

const open = (url: string, extra: Record<string, unknown> = {}, readOnly = false) =>
  postgresAdapter.open(postgresAdapter.parseConfig({ type: 'postgres', url, ...extra }), { projectDir: process.cwd(), readOnly });

describe.runIf(available)('postgres warehouse: connecting', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  describe('connection failures are one clear line without the password', () => {
    const check = (e: unknown, message: RegExp, hint: RegExp, secret: string) => {
      expect(e).toBeInstanceOf(WarehouseError);
      const err = e as WarehouseError;
      expect(err.message).toMatch(message);
      expect(err.hint).toMatch(hint);
      for (const text of [err.message, err.hint ?? '', JSON.stringify(err.toJSON())]) {
        expect(text).not.toContain(secret);
        expect(text).not.toContain('\n');
      }
    };

    it('server not running', async () => {
      const e = await open('postgres://postgres:Secret-Unreachable-1@127.0.0.1:1/x').catch((x) => x);
      check(e, /^cannot connect to PostgreSQL at 127\.0\.0\.1:1: connection refused$/, /is PostgreSQL running on 127\.0\.0\.1:1\?/, 'Secret-Unreachable-1');
    });

    it('unknown host', async () => {
      const e = await open('postgres://u:Secret-Host-2@no-such-host.invalid:5432/x').catch((x) => x);
      check(e, /unknown host 'no-such-host\.invalid'/, /check the host/, 'Secret-Host-2');
    });

    it('database missing', async () => {
      const u = new URL(db.url);
      u.password = 'Secret-Db-3';
      u.pathname = '/smelt_no_such_db';
      const e = await open(u.toString()).catch((x) => x);
      check(e, /database "smelt_no_such_db" does not exist/, /createdb smelt_no_such_db/, 'Secret-Db-3');
    });

    it('role missing', async () => {
      const u = new URL(db.url);
      u.username = 'smelt_no_such_role';
      u.password = 'Secret-Role-4';
      const e = await open(u.toString()).catch((x) => x);
      check(e, /role "smelt_no_such_role" does not exist/, /check the user/, 'Secret-Role-4');
    });

    it('SSL asked of a server without it', async (ctx) => {
      const ssl = await db.query(`SHOW ssl`);
      if (ssl[0].ssl !== 'off') ctx.skip();
      const u = new URL(db.url);
      u.password = 'Secret-Ssl-7';
      const e = await open(u.toString(), { ssl: true }).catch((x) => x);
      check(e, /the server does not support SSL/, /ssl: false/, 'Secret-Ssl-7');
    });

    describe('wrong password (a fake server that asks for one and refuses it)', () => {
      let server: Server;
      let port: number;
      beforeAll(async () => {
        server = createServer((sock) => {
          let stage = 0;
          sock.on('data', (buf) => {
            if (stage === 0 && buf.readInt32BE(4) === 80877103) {
              sock.write('N'); // no SSL
              return;
            }
            if (stage === 0) {
              stage = 1;
              sock.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3])); // AuthenticationCleartextPassword
              return;
            }
            const fields = ['SFATAL', 'VFATAL', 'C28P01', 'Mpassword authentication failed for user "alice"'];
            const body = Buffer.concat([...fields.map((f) => Buffer.from(`${f}\0`)), Buffer.from([0])]);
            const head = Buffer.alloc(5);
            head.write('E', 0);
            head.writeInt32BE(body.length + 4, 1);
            sock.end(Buffer.concat([head, body]));
          });
          sock.on('error', () => undefined);
        });
        await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
        port = (server.address() as { port: number }).port;
      });
      afterAll(() => new Promise<void>((r) => server.close(() => r())));

      it('says what failed and what to check', async () => {
        const e = await open(`postgres://alice:Wrong-Password-5@127.0.0.1:${port}/app`).catch((x) => x);
        check(e, new RegExp(`^cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${port}: password authentication failed for user "alice"$`), /check the user and password/, 'Wrong-Password-5');
      });

      it('also with the password given as a field', async () => {
        const e = await open('', { url: undefined, host: '127.0.0.1', port, user: 'alice', password: 'Wrong-Password-6', database: 'app' }).catch((x) => x);
        check(e, /password authentication failed/, /check the user and password/, 'Wrong-Password-6');
      });
    });
  });
});
