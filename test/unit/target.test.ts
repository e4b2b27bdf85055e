import t from 'tap'
import { describeTarget, urlTarget } from '../../src/db/target.js'

t.test('a DATABASE_URL with ?host=/folder means a unix socket, as in libpq', async (t) => {
  t.same(urlTarget('postgres://app:s%40cret@localhost:6432/events?host=/var/run/postgresql'), {
    kind: 'socket',
    dir: '/var/run/postgresql',
    port: 6432,
    user: 'app',
    password: 's@cret',
    database: 'events',
  })
  t.same(urlTarget('postgres://app:pw@db:5432/events'), {
    kind: 'url',
    url: 'postgres://app:pw@db:5432/events',
  })
  t.equal(urlTarget('postgresql:///x?host=/tmp').kind, 'socket')
})

t.test('a described database never shows its password', async (t) => {
  t.equal(
    describeTarget(urlTarget('postgres://app:secret@db:5432/events')),
    'postgres://app:***@db:5432/events',
  )
  t.notMatch(
    describeTarget(urlTarget('postgres://app:secret@localhost/events?host=/tmp')),
    /secret/,
  )
})
