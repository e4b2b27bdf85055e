/**
 * `GET /events?wait=S`: reads the feed again whenever commits may have made events readable,
 * and answers with the first page that has any; with what is there (often nothing) once the
 * wait is over or shutdown begins. Stops reading when the client leaves.
 */
import type { FeedPage, FeedQuery } from '../feed/feed.js'
import type { Exchange } from './respond.js'
import type { RouteContext } from './route.js'

export async function pollFeed(
  ex: Exchange,
  context: RouteContext,
  query: FeedQuery,
  waitMs: number,
): Promise<FeedPage> {
  const { feed, commits } = context.services
  if (waitMs === 0) return feed(query)
  let ended = false
  let woken = false
  let resume: (() => void) | null = null
  const wake = () => {
    woken = true
    resume?.()
  }
  const end = () => {
    ended = true
    wake()
  }
  // subscribed before the first read: a commit during it is not missed
  const unsubscribe = commits.subscribe(wake)
  const cancelClosing = context.whenClosing(end)
  const timer = setTimeout(end, waitMs)
  ex.whenSettled(end)
  try {
    for (;;) {
      woken = false
      const page = await feed(query)
      if (page.events.length > 0 || ended) return page
      if (!woken) await new Promise<void>((resolve) => (resume = resolve))
      resume = null
    }
  } finally {
    unsubscribe()
    cancelClosing()
    clearTimeout(timer)
  }
}
