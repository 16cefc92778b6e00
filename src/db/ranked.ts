import type { ArticleKey } from './index.js'

/** How many of the newest matches a relevance search ranks (see rankedMatches in each dialect's articles repository). */
export const SEARCH_CANDIDATES = 500

/**
 * A page of ranked candidates (lower rank first, ties by id), after the cursor's article. bm25's scores move
 * whenever the archive does (a word's weight is counted over all the articles), so every score of a search may
 * have changed since the page before, its order not: the page resumes from where the cursor's article ranks now,
 * and from the (rank, id) the cursor holds only when that article is no longer among the candidates.
 */
export function pageOf (ranked: { id: string, rank: number }[], after: ArticleKey | undefined, limit: number) {
  const anchor = after && (ranked.find((r) => r.id === after[1]) ?? { rank: after[0] as number, id: after[1] })
  return ranked
    .filter((r) => !anchor || r.rank > anchor.rank || (r.rank === anchor.rank && r.id > anchor.id))
    .sort((a, b) => a.rank - b.rank || (a.id < b.id ? -1 : 1))
    .slice(0, limit)
}
