import { sql, getTableColumns, type SQL, type AnyColumn, type Table } from 'drizzle-orm'

/*
 * Helpers for statements built and prepared once, when the store opens, and run with placeholder values:
 * Drizzle's query building costs more than SQLite's execution of the small statements every read and write
 * runs (profiled: a fifth of an article create's time went to building SQL text that never changed).
 */

/**
 * `column IN (the ids)` with the ids passed as one JSON array in the placeholder `name` (see `idList`): the
 * statement's text is the same whatever the number of ids, so one prepared statement serves every call.
 */
export function inIds (column: AnyColumn, name = 'ids'): SQL {
  return sql`${column} in (select value from json_each(${sql.placeholder(name)}))`
}

/** The value for an `inIds` placeholder. */
export const idList = (values: readonly string[]): string => JSON.stringify(values)

/** An insert of every column of `table`, each a placeholder named after its column: run it with `encode(table, row)`. */
export function placeholders<T extends Table> (table: T): T['$inferInsert'] {
  return Object.fromEntries(Object.keys(getTableColumns(table)).map((key) => [key, sql`${sql.placeholder(key)}`])) as T['$inferInsert']
}

/**
 * A row in the driver's terms, by each column's own encoder (dates to milliseconds, JSON to text), for an
 * insert built with `placeholders`. A missing or null value is NULL (encoders are for values only).
 */
export function encode<T extends Table> (table: T, row: T['$inferInsert']): Record<string, unknown> {
  const values: Record<string, unknown> = {}
  for (const [key, column] of Object.entries(getTableColumns(table))) {
    const value = (row as Record<string, unknown>)[key]
    values[key] = value === undefined || value === null ? null : column.mapToDriverValue(value)
  }
  return values
}
