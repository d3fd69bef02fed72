/**
 * PostgreSQL behind Kysely (`EARSHOT_DATABASE_URL=postgres://…`): a `pg` Pool, value parsers that
 * hand back what the repositories read from SQLite (numbers, not strings), and a DDL plugin that
 * lets the migrations' SQLite-flavoured column types mean the same thing on PostgreSQL.
 */
import {
  type ColumnDefinitionNode,
  DataTypeNode,
  Kysely,
  type KyselyPlugin,
  OperationNodeTransformer,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  PostgresDialect,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
} from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';
import { noteLocalWrite } from './write-watch.js';

/** PostgreSQL type oids whose default text form (a string) would differ from what SQLite returns. */
const INT8_OID = 20; // bigint: counts, ids, every `*_at` millisecond time
const NUMERIC_OID = 1700; // sum()/avg() over integers

const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    // Millisecond times and counts stay far below 2^53, so a JS number is exact.
    if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format ?? 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * The migrations declare columns as SQLite spells them. On PostgreSQL `integer` becomes `bigint`
 * (times are Unix milliseconds, past 2^31), `real` becomes `double precision` (SQLite's REAL is
 * 8 bytes), `blob` becomes `bytea`, and an autoincrement key becomes an identity column.
 */
class PortableDdl extends OperationNodeTransformer {
  protected override transformColumnDefinition(node: ColumnDefinitionNode): ColumnDefinitionNode {
    const base = super.transformColumnDefinition(node);
    const type = DataTypeNode.is(base.dataType) ? base.dataType.dataType : undefined;
    const mapped =
      type === 'integer' ? 'bigint' : type === 'real' ? 'double precision' : type === 'blob' ? 'bytea' : undefined;
    if (base.autoIncrement) {
      return { ...base, dataType: DataTypeNode.create('bigserial'), autoIncrement: false };
    }
    return mapped ? { ...base, dataType: DataTypeNode.create(mapped) } : base;
  }
}

const DDL_KINDS = new Set(['CreateTableNode', 'AlterTableNode']);

export class PortableDdlPlugin implements KyselyPlugin {
  private readonly transformer = new PortableDdl();
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    // Only schema statements change; ordinary queries pass through untouched (no tree walk).
    return DDL_KINDS.has(args.node.kind) ? this.transformer.transformNode(args.node) : args.node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    // A statement that changed rows (insert/update/delete, raw or built): this process's caches
    // that watch for writes re-check at once instead of at their next poll (db/write-watch.ts).
    if (args.result.numAffectedRows) noteLocalWrite();
    return args.result;
  }
}

export interface PostgresOptions {
  /** Pool size; PostgreSQL counts connections per replica, so a small pool is the polite default. */
  max?: number;
}

export function openPostgres(url: string, options: PostgresOptions = {}): { db: Kysely<Database>; pool: pg.Pool } {
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10, types });
  // An idle client's connection dropping (server restart) must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), plugins: [new PortableDdlPlugin()] });
  return { db, pool };
}
