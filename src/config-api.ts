/**
 * What project files (smelt.config.ts, sources/*.ts, macros/*.ts) get when they
 * `import … from 'smelt'`: the light config API only, so loading a project does
 * not load the whole engine.
 */
export { defineConfig, env } from './config/define-config.js';
export type { SmeltConfigInput, TargetConfigInput, ModelDefaults, EnvRef } from './config/define-config.js';
export { defineSource, filesSource, generatorSource, httpSource, kafkaSource, mysqlSource, postgresSource } from './ingest/define-source.js';
export type { CommonSourceOptions, SourceDefinition } from './ingest/define-source.js';
