import type { ArticleKey } from './index.js'

/** How many of the newest matches a relevance search ranks (see rankedMatches in each dialect's articles repository). */
export const SEARCH_CANDIDATES = 500

/**
 * A page of ranked candidates (lower rank first; ties the most recently written first, by id, which is time-ordered:
 * a newsroom expects the newer of two stories alike), after the cursor's articles. bm25's scores move
 * whenever the archive does (a word's weight is counted over all the articles), so every score of a search may
 * have changed since the page before, its order not. The cursor names the last articles of the page before (up to
 * three, `after[1]` the last, `after[2]` those before it): the page resumes after the middle one of those still
 * among the candidates, where it ranks now (the earlier of two), leaving out all of them. One of them gone
 * (deleted, unpublished, no longer matching) or moved by an edit cannot make the page skip the stories after it
 * or repeat those before. Only when none of them is a candidate any more does it resume from the score the last one
 * held, which scores computed since may not be comparable with.
 */
export function pageOf (ranked: { id: string, rank: number }[], after: ArticleKey | undefined, limit: number) {
  const sorted = ranked.sort((a, b) => a.rank - b.rank || (a.id < b.id ? 1 : -1))
  if (!after) return sorted.slice(0, limit)
  const [rank, id, earlier = []] = after
  const anchors = new Set([...earlier, id])
  const at = sorted.flatMap((r, i) => anchors.has(r.id) ? [i] : [])
  const from = at.length > 0
    ? at[Math.floor((at.length - 1) / 2)]! + 1
    : sorted.findIndex((r) => r.rank > (rank as number) || (r.rank === rank && r.id < id))
  return from < 0 ? [] : sorted.slice(from).filter((r) => !anchors.has(r.id)).slice(0, limit)
}
