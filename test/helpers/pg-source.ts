/**
 * Shared fixtures of the PostgreSQL source tests (src/ingest/sources/postgres/*.test.ts): a fresh
 * database per suite on the local server, and reading a stream to the end.
 */
import pg from 'pg';
import type { RecordBatch, Source, StreamInfo } from '../../src/ingest/source.js';
import { postgresConnector } from '../../src/ingest/sources/postgres/index.js';

/** The server under test: PG_TEST_URL, default the local PostgreSQL (trust auth). */
export const SERVER = process.env.PG_TEST_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh database with a unique name; `drop()` removes it. */
export async function tempDatabase(tag: string) {
  const name = `smelt_${tag}_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new pg.Client({ connectionString: SERVER });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(SERVER);
  u.pathname = `/${name}`;
  const url = u.toString();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    name,
    url,
    client,
    async drop() {
      await client.end().catch(() => undefined);
      const a = new pg.Client({ connectionString: SERVER });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

export { readAll } from './read-stream.js';
export const idsOf = (batches: RecordBatch[]) => batches.flatMap((b) => b.records.map((r) => Number(r.data!.id)));
export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
export const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

export async function openPgSource(config: Record<string, unknown>): Promise<{ src: Source; streams: Map<string, StreamInfo> }> {
  const src = await postgresConnector.create(postgresConnector.parseConfig(config), { projectDir: '.', sourceName: 'pg' });
  const streams = new Map((await src.discover()).map((s) => [s.name, s]));
  return { src, streams };
}
