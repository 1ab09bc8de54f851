/**
 * What each stream looks like: its columns (dirty values are text, as the
 * fictional system exports them; ids are integers; event properties are JSON),
 * its primary key (for `disposition: 'merge'`) and its position fields.
 */
import type { StreamColumn, StreamInfo } from '../../source.js';
import type { GeneratorStream } from './config.js';

const cols = (spec: string): StreamColumn[] =>
  spec.split(/\s+/).filter(Boolean).map((s) => {
    const [name, type] = s.split(':') as [string, StreamColumn['type'] | undefined];
    return { name, type: type ?? 'varchar' };
  });

const COLUMNS: Record<GeneratorStream, StreamColumn[]> = {
  customers: cols('customer_id:bigint email full_name country signup_date updated_at deleted_at'),
  plans: cols('plan_id:bigint plan_code plan_name billing_period price currency updated_at'),
  subscriptions: cols('subscription_id:bigint customer_id:bigint plan_id:bigint status started_at canceled_at is_deleted updated_at'),
  payments: cols('payment_id:bigint subscription_id:bigint bank_id:bigint amount currency status paid_at updated_at'),
  banks: cols('bank_id:bigint bank_name country_code'),
  events: cols('event_id:bigint customer_id:bigint anonymous_id type at properties:json'),
};

const KEYS: Record<GeneratorStream, string[]> = {
  customers: ['customer_id'],
  plans: ['plan_id'],
  subscriptions: ['subscription_id'],
  payments: ['payment_id'],
  banks: ['bank_id'],
  events: ['event_id'],
};

/** `day`: the simulated day the record happened on; `seq`: its number in the stream, from 1, never reused. */
export const POSITION_FIELDS: StreamColumn[] = [{ name: 'day', type: 'date' }, { name: 'seq', type: 'bigint' }];

export const streamInfo = (name: GeneratorStream): StreamInfo => ({
  name,
  columns: COLUMNS[name],
  primaryKey: KEYS[name],
  positionFields: POSITION_FIELDS,
});
