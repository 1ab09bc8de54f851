/**
 * The shop's raw data. The file name is the source name: streams land in
 * bronze.shop_<stream> and models read them with {{ source('shop', 'customers') }}.
 *
 * By default it is a simulated subscription business (the `generator` source),
 * dirty on purpose and deterministic from its seed: the first `smelt run` loads
 * two years of history (2023-01-01 .. 2024-12-31), each later run simulates one
 * more day and loads only what happened on it. Nothing to install or start.
 *
 * The same project reads the same streams from real systems when SHOP_SOURCE says so:
 *   SHOP_SOURCE=postgres SHOP_SOURCE_URL=postgres://…   tables shop.customers, shop.plans, … (full reads)
 *   SHOP_SOURCE=kafka    SHOP_KAFKA_BROKERS=host:9092   topics customers, plans, … (JSON values)
 * The models do not change: only where bronze comes from.
 */
import { env, generatorSource, kafkaSource, postgresSource } from 'smelt';

const STREAMS = ['customers', 'plans', 'subscriptions', 'payments', 'banks', 'events'];

// One disposition per source. Append keeps every row as exported (duplicates and older
// versions too): staging dedups on the latest updated_at. See README.md, "Bronze".
const landing = { disposition: 'append', landing: 'typed' } as const;

const generator = generatorSource({
  seed: 42,
  start_date: '2023-01-01',
  // initial_days: 731,      // history on the first run (default: through 2024-12-31)
  days_per_run: 1,           // simulated days each later run adds
  scale: 1,                  // volume multiplier (about 300 customers over the first two years)
  bad_record_rate: 0,        // e.g. 0.002: a few malformed events, kept as dead letters
  ...landing,                // typed: one column per field; dirty values stay text
});

const postgres = postgresSource({
  url: env('SHOP_SOURCE_URL'),
  // An export schema with one table per stream; each run reads them whole.
  tables: STREAMS.map((name) => ({ name, table: `shop.${name}` })),
  ...landing,
});

const kafka = kafkaSource({
  brokers: (process.env.SHOP_KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  topics: STREAMS,
  ...landing,
});

const choice = process.env.SHOP_SOURCE ?? 'generator';
const sources: Record<string, object> = { generator, postgres, kafka };
if (!sources[choice]) throw new Error(`SHOP_SOURCE=${choice}: expected generator, postgres or kafka`);

export default sources[choice];
