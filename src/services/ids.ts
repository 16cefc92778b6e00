import { v7 } from 'uuid'

/**
 * A new record id: a UUID version 7, which begins with its creation time. Records created one after
 * another get ids that sort together, so every index keyed by an id takes new rows at its end instead of
 * at a random page: a write touches a few pages rather than one page per index.
 */
export const newId = (): string => v7()
