/**
 * What the read side offers, independent of how it is stored: the HTTP edge asks for these,
 * the database layer answers them, and neither imports the other.
 */
export interface EventsQuery {
  topic: string | null
  /** Return events stored after this sequence number. */
  after: number
  limit: number
}

export interface EventsPage {
  /** A JSON array, built by PostgreSQL so stored strings and payloads come back byte for byte. */
  json: string
  count: number
  lastSeq: number | null
  /** More events may follow: the page is full by count, or was cut short by its byte bound. */
  more: boolean
}

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
