/**
 * PostgreSQL's SQL. Most of it is the standard dialect; what differs:
 *
 * Types: json → JSONB, double → DOUBLE PRECISION, blob → BYTEA, decimal → NUMERIC(38,9).
 *
 * Tables built with CREATE TABLE … AS are analyzed in the same statement string, so the
 * models that read them next are planned from statistics (see createTableAs).
 *
 * Identifiers: PostgreSQL silently truncates names longer than 63 bytes, which
 * would make `x__smelt_tmp` and `x__smelt_old` collide; such names are refused.
 *
 * Views bind to what they read by identity, not by name (DuckDB rebinds by name). So:
 *
 * - `CREATE OR REPLACE VIEW` cannot drop, rename or retype columns. createView()
 *   builds the new definition as `<name>__smelt_tmp` first (a plain statement, so
 *   errors point at the model's SQL), then, in a DO block sent in the same string: if the existing view's columns are a prefix
 *   of the new ones it is replaced in place (keeping grants, comments and
 *   dependent views untouched); otherwise the old view is dropped and the new one
 *   renamed in, with the old view's grants, comment and owner re-applied.
 *
 * - Dropping or renaming a relation that other views read would fail (or, with
 *   CASCADE, silently drop them). Instead, every drop and rename *detaches* the
 *   dependent views: their definitions (fully qualified), options, comments, grants,
 *   owner, triggers and, for materialized views, indexes are saved in a session
 *   temp table, then the views are dropped. Whatever later creates a relation under
 *   the detached name (the rename of `x__smelt_tmp` to `x` in a table swap, a view
 *   replacing a table) recreates them, in dependency order, in the same
 *   transaction. If one cannot be recreated (the new version dropped a column it
 *   uses) the statement fails and the transaction rolls back: the old version stays.
 *   A deferred foreign key on the temp table makes COMMIT fail if a detached view
 *   was never recreated, so no view is ever lost silently. An advisory transaction
 *   lock serializes detaches, so parallel swaps that share a dependent view wait
 *   for each other instead of deadlocking.
 *
 *   Not preserved: column-level grants and rules other than the view's own.
 */
import { WarehouseError } from '../../../core/errors.js';
import type { LogicalType, Relation } from '../../../core/types.js';
import { StandardDialect } from '../../standard-dialect.js';

/** PostgreSQL's NAMEDATALEN - 1. */
export const MAX_IDENTIFIER_BYTES = 63;
/** Constraint whose violation at COMMIT means a detached view was never recreated (see toWarehouseError). */
export const UNRECREATED_CONSTRAINT = 'smelt_dependent_view_not_recreated';
/** Advisory lock key (two int4s: 'smel', 1) taken while views are detached. */
const ADVISORY_KEY = '1936549228, 1';

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;
const display = (r: Relation) => `${r.schema}.${r.name}`;

/** Wraps a PL/pgSQL body in a DO statement with a dollar-quote tag that does not occur in it. */
function doBlock(declare: string, body: string): string {
  let tag = '$smelt$';
  for (let i = 0; body.includes(tag) || declare.includes(tag); i++) tag = `$smelt${i}$`;
  return `DO ${tag}\nDECLARE\n${declare}\nBEGIN\n${body}\nEND\n${tag}`;
}

const DECLARE = `  _root regclass;
  _tgt regclass;
  _tmp regclass;
  _dep record;
  _p record;
  _s text;
  _stmts text[];
  _own text[];
  _sp text;`;

/** Dependent views (and materialized views) of `_root`, transitively, with their depth. */
const DEPENDENTS = `WITH RECURSIVE deps(oid, depth) AS (
      SELECT w.ev_class, 1 FROM pg_depend d JOIN pg_rewrite w ON w.oid = d.objid
      WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = _root AND w.ev_class <> _root
      UNION
      SELECT w.ev_class, deps.depth + 1 FROM deps
      JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = deps.oid AND d.classid = 'pg_rewrite'::regclass
      JOIN pg_rewrite w ON w.oid = d.objid
      WHERE w.ev_class <> deps.oid
    )
    SELECT c.oid, c.relkind, c.reloptions, c.relispopulated, c.relowner, c.relacl, max(deps.depth) AS depth,
           format('%I.%I', n.nspname, c.relname) AS qname,
           CASE WHEN c.relkind = 'm' THEN 'MATERIALIZED VIEW' ELSE 'VIEW' END AS kw
    FROM deps JOIN pg_class c ON c.oid = deps.oid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('v', 'm')
    GROUP BY c.oid, c.relkind, c.reloptions, c.relispopulated, c.relowner, c.relacl, n.nspname, c.relname`;

/** Statements that re-apply a relation's grants, comments and owner (run with search_path ''). `_dep` must have oid, qname, kw, relowner, relacl. */
const OWN_EXTRAS = `ARRAY(SELECT format('GRANT %s ON %s TO %s%s', a.privilege_type, _dep.qname,
             CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
             CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
           FROM aclexplode(_dep.relacl) a WHERE a.grantee <> _dep.relowner)
    || ARRAY(SELECT format('COMMENT ON %s %s IS %L', _dep.kw, _dep.qname, d.description) FROM pg_description d
           WHERE d.objoid = _dep.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0)
    || ARRAY(SELECT format('ALTER %s %s OWNER TO %I', _dep.kw, _dep.qname, pg_get_userbyid(_dep.relowner))
           WHERE _dep.relowner <> (SELECT oid FROM pg_roles WHERE rolname = current_user))`;

/** PL/pgSQL: save and drop the views that depend on `r` (no-op when there are none). */
function detach(r: Relation, qualified: string): string {
  return `  -- detach the views that read ${display(r).replace(/\n/g, ' ')}
  _root := to_regclass(${lit(qualified)});
  IF _root IS NOT NULL AND EXISTS (
    SELECT 1 FROM pg_depend d JOIN pg_rewrite w ON w.oid = d.objid
    WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = _root AND w.ev_class <> _root
  ) THEN
    PERFORM pg_advisory_xact_lock(${ADVISORY_KEY});
    IF to_regclass('pg_temp.smelt_pending_views') IS NULL THEN
      CREATE TEMP TABLE smelt_unrecreated (ref text PRIMARY KEY);
      CREATE TEMP TABLE smelt_pending_views (
        seq serial PRIMARY KEY, root_schema text NOT NULL, root_name text NOT NULL, view_name text NOT NULL, stmts text[] NOT NULL,
        ref text NOT NULL CONSTRAINT ${UNRECREATED_CONSTRAINT} REFERENCES pg_temp.smelt_unrecreated (ref) DEFERRABLE INITIALLY DEFERRED
      );
    END IF;
    _sp := current_setting('search_path');
    PERFORM set_config('search_path', '', true); -- definitions come out fully qualified
    FOR _dep IN ${DEPENDENTS} ORDER BY depth, oid LOOP
      _stmts := ARRAY[format('CREATE %s %s%s AS %s%s', _dep.kw, _dep.qname,
                  COALESCE(' WITH (' || array_to_string(_dep.reloptions, ', ') || ')', ''),
                  regexp_replace(pg_get_viewdef(_dep.oid), ';\\s*$', ''),
                  CASE WHEN _dep.relkind = 'm' AND NOT _dep.relispopulated THEN ' WITH NO DATA' ELSE '' END)]
        || ARRAY(SELECT format('COMMENT ON COLUMN %s.%I IS %L', _dep.qname, a.attname, d.description)
                 FROM pg_description d JOIN pg_attribute a ON a.attrelid = d.objoid AND a.attnum = d.objsubid
                 WHERE d.objoid = _dep.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid > 0)
        || ARRAY(SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = _dep.oid)
        || ARRAY(SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t WHERE t.tgrelid = _dep.oid AND NOT t.tgisinternal)
        || ${OWN_EXTRAS};
      INSERT INTO pg_temp.smelt_pending_views (root_schema, root_name, view_name, stmts, ref)
      VALUES (${lit(r.schema)}, ${lit(r.name)}, _dep.qname, _stmts, _dep.qname || ' (reads ' || ${lit(display(r))} || ')');
    END LOOP;
    FOR _dep IN ${DEPENDENTS} ORDER BY depth DESC, oid DESC LOOP
      EXECUTE format('DROP %s %s', _dep.kw, _dep.qname);
    END LOOP;
    PERFORM set_config('search_path', _sp, true);
  END IF;`;
}

/** PL/pgSQL: recreate the views detached from `r`, now that a relation named `r` exists again. */
function reattach(r: Relation): string {
  return `  -- recreate the views detached from ${display(r).replace(/\n/g, ' ')}
  IF to_regclass('pg_temp.smelt_pending_views') IS NOT NULL THEN
    FOR _p IN SELECT seq, view_name, stmts FROM pg_temp.smelt_pending_views
              WHERE root_schema = ${lit(r.schema)} AND root_name = ${lit(r.name)} ORDER BY seq LOOP
      BEGIN
        FOREACH _s IN ARRAY _p.stmts LOOP
          EXECUTE _s;
        END LOOP;
      EXCEPTION WHEN OTHERS THEN
        RAISE EXCEPTION 'cannot recreate view %, which reads %: %', _p.view_name, ${lit(display(r))}, SQLERRM
          USING ERRCODE = 'dependent_objects_still_exist',
                HINT = 'the new ' || ${lit(display(r))} || ' must keep the columns (and types) that ' || _p.view_name
                       || ' uses; change that view first, or drop it (DROP VIEW ' || _p.view_name || ') and let its model rebuild it';
      END;
      DELETE FROM pg_temp.smelt_pending_views WHERE seq = _p.seq;
    END LOOP;
  END IF;`;
}

export class PostgresDialect extends StandardDialect {
  override quoteIdent(name: string): string {
    if (Buffer.byteLength(name, 'utf8') > MAX_IDENTIFIER_BYTES) {
      throw new WarehouseError(`name '${name}' is longer than PostgreSQL's ${MAX_IDENTIFIER_BYTES}-byte limit for identifiers`, {
        hint: 'shorten the model (or column) name, or give the model a shorter alias; smelt needs 12 more bytes for its __smelt_tmp/__smelt_old names',
      });
    }
    return super.quoteIdent(name);
  }

  override literal(v: unknown): string {
    if (v instanceof Uint8Array) return `'\\x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}'::bytea`;
    return super.literal(v);
  }

  override typeName(t: LogicalType): string {
    switch (t) {
      case 'json': return 'JSONB';
      case 'double': return 'DOUBLE PRECISION';
      case 'blob': return 'BYTEA';
      case 'decimal': return 'NUMERIC(38,9)';
      case 'timestamptz': return 'TIMESTAMP WITH TIME ZONE';
      case 'other': return 'TEXT';
      default: return super.typeName(t);
    }
  }

  /** Tolerates a concurrent creator (CREATE SCHEMA IF NOT EXISTS can race in PostgreSQL) and needs no CREATE privilege when the schema exists. */
  override createSchema(schema: string): string {
    const q = this.quoteIdent(schema);
    return doBlock('', `  IF to_regnamespace(${lit(q)}) IS NULL THEN
    BEGIN
      CREATE SCHEMA IF NOT EXISTS ${q};
    EXCEPTION WHEN unique_violation OR duplicate_schema THEN
      NULL; -- created concurrently
    END;
  END IF;`);
  }

  override createView(r: Relation, sql: string): string[] {
    const target = this.relation(r);
    const tmpRel = { schema: r.schema, name: `${r.name}__smelt_tmp` };
    const tmp = this.relation(tmpRel);
    const name = this.quoteIdent(r.name);
    const swap = `  _tgt := to_regclass(${lit(target)});
  _tmp := to_regclass(${lit(tmp)});
  IF _tgt IS NULL THEN
    ALTER VIEW ${tmp} RENAME TO ${name};
${reattach(r)}
  ELSIF (SELECT relkind FROM pg_class WHERE oid = _tgt) <> 'v' THEN
    RAISE EXCEPTION '% exists and is not a view', ${lit(display(r))} USING ERRCODE = 'wrong_object_type',
      HINT = 'drop it first (smelt only replaces tables and views it can identify)';
  ELSIF NOT EXISTS (
    SELECT 1 FROM pg_attribute o
    LEFT JOIN pg_attribute t ON t.attrelid = _tmp AND t.attnum = o.attnum AND NOT t.attisdropped
    WHERE o.attrelid = _tgt AND o.attnum > 0 AND NOT o.attisdropped
      AND (t.attname IS DISTINCT FROM o.attname OR t.atttypid IS DISTINCT FROM o.atttypid
           OR t.atttypmod IS DISTINCT FROM o.atttypmod OR t.attcollation IS DISTINCT FROM o.attcollation)
  ) THEN
    -- Same leading columns (maybe more): replace in place, keeping grants, comments and dependents.
    EXECUTE 'CREATE OR REPLACE VIEW ${target.replace(/'/g, "''")} AS ' || regexp_replace(pg_get_viewdef(_tmp), ';\\s*$', '');
    DROP VIEW ${tmp};
  ELSE
    -- Columns dropped, renamed or retyped: drop and recreate, re-applying the view's own grants, comment and owner.
    _sp := current_setting('search_path');
    PERFORM set_config('search_path', '', true);
    SELECT c.oid, c.relowner, c.relacl, format('%I.%I', n.nspname, c.relname) AS qname, 'VIEW'::text AS kw INTO _dep
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = _tgt;
    _own := ${OWN_EXTRAS};
    PERFORM set_config('search_path', _sp, true);
${detach(r, target)}
    DROP VIEW ${target};
    ALTER VIEW ${tmp} RENAME TO ${name};
    FOREACH _s IN ARRAY _own LOOP
      EXECUTE _s;
    END LOOP;
${reattach(r)}
  END IF;`;
    // One string, one round trip: PostgreSQL runs a multi-statement query as one implicit
    // transaction, and error positions count from its start, so lines still map to the model.
    // The newline before each `;` keeps a trailing `-- comment` in the model from swallowing it.
    return [`DROP VIEW IF EXISTS ${tmp};\nCREATE VIEW ${tmp} AS\n${sql}\n;\n${doBlock(DECLARE, swap)}`];
  }

  /**
   * CREATE TABLE … AS, then ANALYZE of the new table, in one string (one round trip; error
   * positions still count from the model's SQL, which comes first). The models built next read
   * this table at once, long before autovacuum (if it runs at all) analyzes it, and without
   * statistics PostgreSQL plans every join, aggregate and sort over it from default guesses:
   * hash aggregates sized for 200 groups that spill to disk, nested loops over "306 rows" that
   * are 80,000. ANALYZE samples a bounded number of rows, so it costs little next to the CTAS.
   * The newline before `;` keeps a trailing `-- comment` in the model from swallowing it.
   */
  override createTableAs(r: Relation, sql: string): string {
    return `${super.createTableAs(r, sql)}\n;\nANALYZE ${this.relation(r)}`;
  }

  override renameRelation(from: Relation, toName: string, kind: 'table' | 'view'): string {
    const src = this.relation(from);
    return doBlock(
      DECLARE,
      `${detach(from, src)}
  ALTER ${kind === 'view' ? 'VIEW' : 'TABLE'} ${src} RENAME TO ${this.quoteIdent(toName)};
${reattach({ schema: from.schema, name: toName })}`,
    );
  }

  override dropRelation(r: Relation, kind: 'table' | 'view'): string {
    const q = this.relation(r);
    return doBlock(
      DECLARE,
      `${detach(r, q)}
  DROP ${kind === 'view' ? 'VIEW' : 'TABLE'} IF EXISTS ${q};`,
    );
  }

  override intervalAgo(interval: string): string {
    return this.subtractInterval('CURRENT_TIMESTAMP', interval);
  }

  override subtractInterval(expr: string, interval: string): string {
    return `(${expr} - CAST(${this.literal(interval)} AS INTERVAL))`;
  }

  override addColumn(r: Relation, column: string, type: string): string {
    return `ALTER TABLE ${this.relation(r)} ADD COLUMN ${this.quoteIdent(column)} ${type}`;
  }
}
