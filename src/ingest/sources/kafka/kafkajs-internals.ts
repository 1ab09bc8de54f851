/**
 * The KafkaJS internals kafka-client.ts uses (kafkajs/src, CommonJS), typed as far as smelt uses
 * them: the cluster and broker for partition fetches and offset commits, the Fetch request and its
 * error parsing, the compression codecs, and the old message-set decoder for brokers before 0.11.
 * KafkaJS 2.2.4 is its final release, so these paths do not move; package.json pins it.
 */
import { createRequire } from 'node:module';
import type { IHeaders } from 'kafkajs';
import type { DecodedMessage } from './fetch-response.js';

const require = createRequire(import.meta.url);

export interface KjsMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: IHeaders;
  timestamp: string;
  isControlRecord?: boolean;
}
export interface KjsPartitionData {
  partition: number;
  highWatermark: string;
  messages: KjsMessage[];
}
export interface KjsBatch {
  messages: KjsMessage[];
  messagesWithinOffset: KjsMessage[];
}
export interface KjsFetchArgs {
  replicaId: number;
  isolationLevel: number;
  maxWaitTime: number;
  minBytes: number;
  maxBytes: number;
  topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
}
/** A protocol request as KafkaJS's connection sends it: the encoder, and the response's decode and parse. */
export interface KjsProtocolRequest {
  request: { apiVersion: number };
  response: { decode(raw: Buffer): Promise<unknown>; parse(data: unknown): Promise<unknown> };
  requestTimeout: number;
}
export interface KjsBroker {
  fetch(req: KjsFetchArgs): Promise<{ responses: { topicName: string; partitions: KjsPartitionData[] }[] }>;
  lookupRequest(apiKey: number, definition: unknown): (req: KjsFetchArgs) => KjsProtocolRequest;
  connectionPool: { send(r: KjsProtocolRequest): Promise<unknown> };
  disconnect(): Promise<void>;
  offsetCommit(req: {
    groupId: string;
    groupGenerationId: number;
    memberId: string;
    retentionTime?: number;
    topics: { topic: string; partitions: { partition: number; offset: string }[] }[];
  }): Promise<unknown>;
}
export interface KjsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(q: { nodeId: string }): Promise<KjsBroker>;
  findGroupCoordinator(q: { groupId: string }): Promise<KjsBroker>;
}
export interface KjsError extends Error {
  retriable?: boolean;
  type?: string;
  partition?: number;
}

export interface KjsCodec {
  decompress(data: Buffer): Promise<Buffer>;
}

export const internals = () => ({
  Cluster: require('kafkajs/src/cluster/index.js') as new (o: Record<string, unknown>) => KjsCluster,
  Batch: require('kafkajs/src/consumer/batch.js') as new (topic: string, fetchedOffset: string, data: KjsPartitionData) => KjsBatch,
  createLogger: (require('kafkajs/src/loggers/index.js') as { createLogger: (o: Record<string, unknown>) => unknown }).createLogger,
  socketFactory: require('kafkajs/src/network/socketFactory.js') as () => unknown,
  fetchApiKey: (require('kafkajs/src/protocol/requests/apiKeys.js') as { Fetch: number }).Fetch,
  fetchRequests: (require('kafkajs/src/protocol/requests/index.js') as { requests: { Fetch: unknown } }).requests.Fetch,
  /** Throws KafkaJS's error for the first partition error (KafkaJSOffsetOutOfRange with its partition, …). */
  parseFetch: (require('kafkajs/src/protocol/requests/fetch/v0/response.js') as { parse(d: unknown): Promise<unknown> }).parse,
  createErrorFromCode: (require('kafkajs/src/protocol/error.js') as { createErrorFromCode(code: number): Error }).createErrorFromCode,
  codecFor: (require('kafkajs/src/protocol/message/compression/index.js') as { lookupCodecByAttributes(a: number): KjsCodec | null }).lookupCodecByAttributes,
  Decoder: require('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => unknown,
  decodeMessages: require('kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js') as (d: unknown) => Promise<KjsMessage[]>,
});

/** KafkaJS's message (offsets and timestamps as text) as the source reads it. */
export const fromKjs = (m: KjsMessage): DecodedMessage => ({ offset: Number(m.offset), key: m.key, value: m.value, headers: m.headers, timestamp: Number(m.timestamp) });
