/**
 * The shop's raw data: a simulated subscription business (the `generator` source),
 * dirty on purpose and deterministic from its seed. The file name is the source
 * name: streams land in bronze.shop_<stream> and models read them with
 * {{ source('shop', 'customers') }}.
 *
 * The first `smelt run` loads two years of history (2023-01-01 .. 2024-12-31);
 * each later run simulates one more day and loads only what happened on it.
 */
export default {
  type: 'generator',
  seed: 42,
  start_date: '2023-01-01',
  // initial_days: 731,      // history on the first run (default: through 2024-12-31)
  days_per_run: 1,           // simulated days each later run adds
  scale: 1,                  // volume multiplier (about 300 customers over the first two years)
  bad_record_rate: 0,        // e.g. 0.002: a few malformed events, kept as dead letters
  // One disposition per source. Append keeps every row as exported (duplicates and older
  // versions too): staging dedups on the latest updated_at. See README.md, "Bronze".
  disposition: 'append',
  landing: 'typed',          // one column per field; dirty values stay text
};
