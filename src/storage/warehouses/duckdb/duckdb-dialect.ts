import type { LogicalType } from '../../../core/types.js';
import { StandardDialect } from '../../standard-dialect.js';

/** DuckDB spells a few types differently from the standard. */
export class DuckDBDialect extends StandardDialect {
  override typeName(t: LogicalType): string {
    switch (t) {
      case 'double': return 'DOUBLE';
      case 'blob': return 'BLOB';
      case 'timestamptz': return 'TIMESTAMPTZ';
      default: return super.typeName(t);
    }
  }
}
