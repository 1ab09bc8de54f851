import { ConfigError } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';
import type { SourceConnector } from './source.js';

/** Source connectors by `type`, loaded lazily: a project pays only for the drivers it uses. */
const loaders: Record<string, () => Promise<SourceConnector<any>>> = {
  files: async () => (await import('./sources/files/index.js')).filesConnector,
  generator: async () => (await import('./sources/generator/index.js')).generatorConnector,
  postgres: async () => (await import('./sources/postgres/index.js')).postgresConnector,
  mysql: async () => (await import('./sources/mysql/index.js')).mysqlConnector,
  kafka: async () => (await import('./sources/kafka/index.js')).kafkaConnector,
  http: async () => (await import('./sources/http/index.js')).httpConnector,
};

export function registerSource(type: string, load: () => Promise<SourceConnector<any>>): void {
  loaders[type] = load;
}

export const sourceTypes = (): string[] => Object.keys(loaders);

export async function getSourceConnector(type: string, file?: string): Promise<SourceConnector<any>> {
  const load = loaders[type];
  if (!load) {
    throw new ConfigError(`unknown source type '${type}'`, {
      location: file ? { file } : undefined,
      hint: didYouMean(type, Object.keys(loaders)) ?? `source types: ${Object.keys(loaders).join(', ')}`,
    });
  }
  return load();
}
