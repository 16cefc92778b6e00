import type { Conditions } from './etag.js'
import type { Principal } from './keys.js'

/** Who is reading: anonymous readers see only published articles whose time has come. */
export interface Viewer { publicOnly: boolean }

/** Who is writing, and the preconditions they sent (If-Match: the representation they last read), if any. */
export interface Write extends Conditions { actor: Principal }

/**
 * The fields of a write that differ from the row as it stands, with a new `updatedAt` when any does; none when it
 * changes nothing, which then writes nothing: the Updated date and the ETag stay, so other editors' If-Match stays good.
 */
export function changesTo<Row extends { updatedAt: Date }> (current: Row, fields: Partial<Row>): Partial<Row> | undefined {
  const changed = Object.fromEntries(Object.entries(fields).filter(([key, value]) => value !== undefined && value !== current[key as keyof Row]))
  return Object.keys(changed).length ? { ...changed as Partial<Row>, updatedAt: new Date() } : undefined
}
