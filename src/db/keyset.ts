import { sql, type SQL, type AnyColumn } from 'drizzle-orm'

/**
 * Keyset pagination over a tuple of columns sorted in one direction, the last one unique (the id).
 * Row-value comparison `(a, b, id) > (?, ?, ?)` works on SQLite and PostgreSQL alike and lets the
 * database walk an index on the same columns.
 */
export function after (columns: AnyColumn[], values: unknown[], descending: boolean): SQL {
  const cols = sql.join(columns.map((c) => sql`${c}`), sql`, `)
  const vals = sql.join(values.map((v, i) => sql`${sql.param(v, columns[i] as any)}`), sql`, `)
  return descending ? sql`(${cols}) < (${vals})` : sql`(${cols}) > (${vals})`
}

export function orderBy (columns: AnyColumn[], descending: boolean): SQL[] {
  return columns.map((c) => descending ? sql`${c} desc` : sql`${c} asc`)
}

/** Escapes LIKE wildcards so user text matches literally (used with ESCAPE '\'). */
export function likeContains (text: string): string {
  return `%${text.replace(/[\\%_]/g, (m) => `\\${m}`)}%`
}
