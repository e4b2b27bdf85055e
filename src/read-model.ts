/**
 * What the read side offers, independent of how it is stored: the HTTP edge asks for these,
 * the database layer answers them, and neither imports the other.
 */
export interface TopicCounts {
  topic: string
  unique: number
  duplicates: number
}

/** The counters as `/stats` shows them: exact totals, and the most active topics only. */
export interface CountersSummary {
  unique: number
  duplicates: number
  /** How many topics have counters, listed or not. */
  topicCount: number
  /** The most active topics (by stored events, then name), in topic order. */
  top: TopicCounts[]
  /** Publish requests refused, and the events they carried where known. */
  rejectedRequests: number
  rejectedEvents: number
}

export interface TopicsQuery {
  /** Topics after this one in byte order ('' from the start). */
  after: string
  limit: number
}
