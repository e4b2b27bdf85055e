/**
 * The database must store text as UTF-8. Events arrive as UTF-8 and may hold any character; in
 * another encoding the server converts each COPY row and refuses the characters it cannot
 * represent (on LATIN1, one emoji failed a whole batch, every request in it), or, on SQL_ASCII,
 * stores bytes it never checks. So a database in another encoding is refused before anything is
 * written to it, at start-up.
 */
import { AggregatorError } from '../errors.js'
import type { Sql } from './connect.js'

export class NotUtf8 extends AggregatorError {
  constructor(database: string, encoding: string) {
    super(
      'ERR_AGG_DB_ENCODING',
      `database "${database}" is encoded ${encoding}, not UTF8: events would be refused or stored unchecked; create it with ENCODING 'UTF8' (from template0 when template1 is not UTF8)`,
    )
  }
}

export async function requireUtf8(sql: Sql): Promise<void> {
  const [row] = await sql<{ database: string; encoding: string }[]>`
    SELECT current_database() AS database, current_setting('server_encoding') AS encoding`
  if (row!.encoding !== 'UTF8') throw new NotUtf8(row!.database, row!.encoding)
}
