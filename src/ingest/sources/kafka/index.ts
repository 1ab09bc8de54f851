import type { SourceConnector } from '../../source.js';
import { parseKafkaConfig, streamNameOf, type KafkaConfig } from './config.js';
import { KafkaSource } from './kafka-source.js';

/** Kafka topics (one stream each), exactly once: offsets are stored with each batch, group offsets committed after. */
export const kafkaConnector: SourceConnector<KafkaConfig> = {
  type: 'kafka',
  displayName: 'Kafka',
  capabilities: { incremental: true, continuous: true, externalCommit: true, typedColumns: false, replayable: false },
  parseConfig: parseKafkaConfig,
  declaredStreams: (c) => c.topics.map(streamNameOf),
  declaredKeys: () => [],
  create: async (c, ctx) => new KafkaSource(c, ctx),
};
export type { KafkaConfig } from './config.js';
