/**
 * Source declarations from `smelt.config.ts` (`sources: { shop: {...} }`) and
 * `sources/*.ts` (default export; the file name is the source name), validated:
 * common options by smelt, the rest by the connector.
 */
import { ConfigError, UsageError } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';
import { parseWith } from '../config/validate.js';
import { getSourceConnector } from './registry.js';
import { COMMON_KEYS, ingestOptionsSchema, splitDeclaration, type SourceDeclaration } from './source-config.js';

export interface RawSource {
  readonly name: string;
  readonly file: string;
  readonly value: unknown;
  /** The line of an option of this declaration (its path inside it), where the file's text is known. */
  readonly locate?: (path: readonly PropertyKey[]) => number | undefined;
}

export interface ResolvedSource extends SourceDeclaration {
  /** Streams the connector's config declares. */
  readonly streams: string[];
  /** The connector's validated config (may hold secrets: never serialize it). */
  readonly config: unknown;
  /** The line of one of its options, for errors found later (against the source's catalog). */
  readonly locate?: (path: readonly PropertyKey[]) => number | undefined;
}

export async function resolveSources(raw: readonly RawSource[]): Promise<ResolvedSource[]> {
  const out: ResolvedSource[] = [];
  const seen = new Map<string, string>();
  for (const r of raw) {
    if (!/^[a-z_][a-z0-9_]*$/.test(r.name)) {
      throw new ConfigError(`source name '${r.name}' must be lower-case letters, digits and _`, { location: { file: r.file } });
    }
    const prev = seen.get(r.name);
    if (prev) throw new ConfigError(`source '${r.name}' is declared twice (also in ${prev})`, { location: { file: r.file } });
    seen.set(r.name, r.file);
    if (!r.value || typeof r.value !== 'object') throw new ConfigError(`source '${r.name}' must be an object with a type`, { location: { file: r.file } });
    const { common, connector } = splitDeclaration(r.value as Record<string, unknown>);
    const options = parseWith(ingestOptionsSchema, common, `sources.${r.name}`, { file: r.file }, r.locate);
    const conn = await getSourceConnector(options.type, r.file);
    let config: unknown;
    try {
      config = conn.parseConfig(connector);
    } catch (e) {
      if (e instanceof ConfigError && !e.location) {
        throw new ConfigError(`sources.${r.name}: ${e.message}`, { location: { file: r.file, line: e.keyPath && r.locate?.(e.keyPath) }, hint: withCommonOptions(e) });
      }
      throw e;
    }
    const declared = conn.declaredStreams(config);
    const streams = options.include ?? declared;
    for (const s of streams) {
      if (!declared.includes(s)) throw new ConfigError(`sources.${r.name}.include: unknown stream '${s}'`, { location: { file: r.file }, hint: `streams: ${declared.join(', ')}` });
    }
    // A merge needs a key: where only the config can give one, say so now rather than at the first batch.
    if (options.disposition === 'merge' && !options.primary_key?.length && conn.declaredKeys) {
      const keyless = streams.filter((s) => conn.declaredKeys!(config, s).length === 0);
      if (keyless.length) {
        throw new ConfigError(`sources.${r.name}: disposition 'merge' needs a primary key, and stream${keyless.length > 1 ? 's' : ''} ${keyless.map((s) => `'${s}'`).join(', ')} ${keyless.length > 1 ? 'have' : 'has'} none`, {
          location: { file: r.file, line: r.locate?.(['disposition']) },
          hint: `add primary_key: ['id'] to the source (or to each stream, where its connector takes one), or use disposition 'append'`,
        });
      }
    }
    out.push({ name: r.name, file: r.file, options, connectorConfig: connector, streams, config, ...(r.locate ? { locate: r.locate } : {}) });
  }
  return out;
}

/** The error for a source name the project does not declare (a CLI argument), with the closest name. */
export function unknownSource(name: string, sources: readonly Pick<ResolvedSource, 'name'>[]): UsageError {
  const names = sources.map((s) => s.name);
  return new UsageError(`unknown source '${name}'`, { hint: didYouMean(name, names) ?? `sources: ${names.join(', ') || 'none declared'}` });
}

/** `bronze.shop_customers`: where a stream lands. */
export const streamTable = (s: Pick<ResolvedSource, 'name' | 'options'>, stream: string) => ({
  schema: s.options.schema,
  name: `${s.options.table_prefix ?? `${s.name}_`}${stream}`,
});

/**
 * The connector's schema sees only its own options, so an unknown one gets a hint from those alone:
 * a typo of a common option (`batch_sise`) is matched against the common options too.
 */
function withCommonOptions(e: ConfigError): string | undefined {
  const key = e.keyPath?.length === 1 && /^unknown option '/.test(e.message) ? String(e.keyPath[0]) : undefined;
  if (key === undefined || (e.hint && !e.hint.startsWith('valid options:'))) return e.hint;
  const common = [...COMMON_KEYS].sort();
  return didYouMean(key, common) ?? `${e.hint ?? 'valid options: none'}; common to every source: ${common.join(', ')}`;
}
