/** Dates go out as RFC 3339 UTC strings. */
export const iso = (d: Date) => d.toISOString()
export const isoOrNull = (d: Date | null | undefined) => d ? d.toISOString() : null
