import type { SourceConnector } from '../../source.js';
import { GENERATOR_STREAMS, parseGeneratorConfig, type GeneratorConfig } from './config.js';
import { GeneratorSource } from './generator-source.js';

/**
 * A simulated subscription business (customers, plans, subscriptions, payments,
 * banks, product events), dirty on purpose, deterministic from a seed and
 * incremental in simulated days: data to learn and test with, no service needed.
 */
export const generatorConnector: SourceConnector<GeneratorConfig> = {
  type: 'generator',
  displayName: 'Generator (simulated subscription business)',
  capabilities: { incremental: true, continuous: false, externalCommit: false, typedColumns: true, replayable: true },
  parseConfig: parseGeneratorConfig,
  declaredStreams: () => [...GENERATOR_STREAMS],
  create: async (c, ctx) => new GeneratorSource(c, ctx),
};
export type { GeneratorConfig } from './config.js';
