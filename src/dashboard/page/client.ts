/**
 * The dashboard's script, in the browser: renders each snapshot that arrives on the WebSocket
 * `/live`, computes rates from the server's clock, and draws the last five minutes of them. A
 * classic script, inlined into the page by the build, so its scope is closed here rather than by
 * a module.
 */
;(() => {
  /** What the page reads of a `/live` snapshot (`LiveSnapshot` in src/dashboard/live.ts). */
  interface Snapshot {
    at: number
    database: 'up'
    started_at: string
    uptime: number
    received: number
    unique_processed: number
    duplicate_dropped: number
    rejected: number
    in_flight: number
    failed: number
    topic_count: number
    top_topics: { topic: string; count: number }[]
    shards: ShardRow[]
  }

  /** Sent instead while the database does not answer (`LiveOutage`). */
  interface Outage {
    at: number
    database: 'down'
    shards: ShardRow[]
    last: Snapshot | null
  }

  interface ShardRow {
    shard: number
    worker_up: boolean
    queue_depth: number
    batching: number
    batches: number
    events: number
    failed_events: number
    last_batch_ms: number | null
  }

  type Counter = 'received' | 'unique_processed' | 'duplicate_dropped' | 'rejected' | 'in_flight'

  /** Rates per second at one moment of the server's clock. */
  interface Point {
    at: number
    received: number
    unique: number
    duplicates: number
  }

  const HISTORY_MS = 300000
  const MIN_SPAN_MS = 60000
  /** Each card's element id and the counter it shows. */
  const COUNTERS: [string, Counter][] = [
    ['received', 'received'],
    ['unique', 'unique_processed'],
    ['duplicates', 'duplicate_dropped'],
    ['rejected', 'rejected'],
    ['inflight', 'in_flight'],
  ]
  /** The chart's lines, drawn in this order, each with its colour's CSS variable. */
  const SERIES: [Exclude<keyof Point, 'at'>, string][] = [
    ['duplicates', '--duplicates'],
    ['unique', '--unique'],
    ['received', '--received'],
  ]
  const whole = new Intl.NumberFormat('en', { maximumFractionDigits: 0 })
  const tenths = new Intl.NumberFormat('en', { maximumFractionDigits: 1 })
  const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 })
  const clock = new Intl.DateTimeFormat(undefined, {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  })
  let previous: Snapshot | null = null
  const rates: Point[] = []
  /** Local clock of the last message, and of when the figures shown were taken. */
  let lastMessageAt = 0
  let figuresAt = 0
  let attempts = 0
  let socket: WebSocket | null = null

  function $(id: string): HTMLElement {
    const node = document.getElementById(id)
    if (node === null) throw new Error(`the page has no #${id}`)
    return node
  }

  function element(tag: string, className?: string, text?: string): HTMLElement {
    const node = document.createElement(tag)
    if (className) node.className = className
    if (text !== undefined) node.textContent = text
    return node
  }

  function perSecond(now: Snapshot, before: Snapshot, key: Counter): number {
    return (now[key] - before[key]) / ((now.at - before.at) / 1000)
  }

  function rateText(value: number, signed: boolean): string {
    const sign = signed && value > 0 ? '+' : ''
    return sign + (Math.abs(value) < 10 ? tenths : whole).format(value) + ' /s'
  }

  function duration(seconds: number): string {
    const d = Math.floor(seconds / 86400)
    const h = Math.floor((seconds % 86400) / 3600)
    const m = Math.floor((seconds % 3600) / 60)
    const s = seconds % 60
    if (d > 0) return `${d}d ${h}h ${m}m`
    if (h > 0) return `${h}h ${m}m ${s}s`
    return m > 0 ? `${m}m ${s}s` : `${s}s`
  }

  function setStatus(state: 'live' | 'stale' | 'offline', text: string): void {
    const status = $('status')
    status.dataset.state = state
    status.textContent = text
  }

  function setDatabase(state: 'up' | 'down'): void {
    document.body.dataset.database = state
    $('database').dataset.state = state
    $('database').textContent = state
  }

  /** How old the figures on screen are, ticking between messages. */
  function showAge(): void {
    if (figuresAt === 0) return
    const seconds = Math.max(0, Math.round((Date.now() - figuresAt) / 1000))
    $('age').textContent = seconds < 2 ? 'just now' : `${duration(seconds)} ago`
  }

  /** The server's clock `at` as this browser's clock, through the message just received. */
  function local(at: number, message: { at: number }): number {
    return lastMessageAt - (message.at - at)
  }

  function receive(message: Snapshot | Outage): void {
    setDatabase(message.database)
    if (message.database === 'up') {
      figuresAt = lastMessageAt
      render(message)
    } else {
      // figures from before the outage, drawn once (a viewer who joined during it has none yet)
      const last = message.last
      if (last !== null && (previous === null || previous.at < last.at)) render(last)
      figuresAt = last === null ? 0 : local(last.at, message)
      renderShards(message.shards)
    }
    showAge()
  }

  function render(s: Snapshot): void {
    // a restarted server resets its own counters: no rate across that gap
    const before = previous !== null && previous.started_at === s.started_at ? previous : null
    const comparable = before !== null && s.at > before.at
    for (const [id, key] of COUNTERS) {
      $(id).textContent = whole.format(s[key])
      $(`${id}-rate`).textContent = comparable
        ? rateText(perSecond(s, before, key), key === 'in_flight')
        : '– /s'
    }
    if (comparable) {
      rates.push({
        at: s.at,
        received: perSecond(s, before, 'received'),
        unique: perSecond(s, before, 'unique_processed'),
        duplicates: perSecond(s, before, 'duplicate_dropped'),
      })
      while (rates.length > 0 && s.at - rates[0]!.at > HISTORY_MS) rates.shift()
    }
    const holds = s.received === s.unique_processed + s.duplicate_dropped + s.in_flight
    $('invariant-card').dataset.ok = String(holds)
    $('invariant').textContent = holds ? 'holds' : 'broken'
    $('uptime').textContent = duration(s.uptime)
    $('started').textContent = new Date(s.started_at).toLocaleString()
    $('updated').textContent = clock.format(new Date(s.at))
    renderShards(s.shards)
    renderTopics(s)
    previous = s
    draw()
  }

  function renderShards(shards: ShardRow[]): void {
    let up = 0
    let failed = 0
    const rows = shards.map((shard) => {
      failed += shard.failed_events
      if (shard.worker_up) up++
      const row = element('tr')
      row.append(
        element('td', '', String(shard.shard)),
        element('td', shard.worker_up ? 'up' : 'down', shard.worker_up ? 'up' : 'down'),
        element('td', '', whole.format(shard.queue_depth)),
        element('td', '', whole.format(shard.batching)),
        element('td', '', whole.format(shard.batches)),
        element('td', '', whole.format(shard.events)),
        element('td', shard.failed_events > 0 ? 'down' : '', whole.format(shard.failed_events)),
        element(
          'td',
          '',
          shard.last_batch_ms === null ? '–' : tenths.format(shard.last_batch_ms) + ' ms',
        ),
      )
      return row
    })
    $('shards').replaceChildren(...rows)
    $('shard-summary').textContent =
      `${up} of ${shards.length} workers up · ${whole.format(failed)} failed events`
  }

  function renderTopics(s: Snapshot): void {
    const list = $('topics')
    $('topic-count').textContent =
      whole.format(s.topic_count) + (s.topic_count === 1 ? ' topic' : ' topics')
    if (s.top_topics.length === 0) {
      list.replaceChildren(element('li', 'empty', 'No events stored yet.'))
      return
    }
    const top = s.top_topics[0]!.count
    const items = s.top_topics.map((t) => {
      const item = element('li')
      const bar = element('span', 'bar')
      const fill = element('i')
      fill.style.width = `${top > 0 ? (100 * t.count) / top : 0}%`
      bar.append(fill)
      const share =
        s.unique_processed > 0 ? tenths.format((100 * t.count) / s.unique_processed) + '%' : ''
      const name = element('span', 'name', t.topic)
      name.title = t.topic
      item.append(
        name,
        element('b', '', whole.format(t.count)),
        element('span', 'share', share),
        bar,
      )
      return item
    })
    list.replaceChildren(...items)
  }

  /** The smallest of 1, 2, 2.5, 5 × 10^n at or above value: gridlines at round numbers. */
  function niceStep(value: number): number {
    if (!(value > 0)) return 2.5
    const power = Math.pow(10, Math.floor(Math.log10(value)))
    for (const step of [1, 2, 2.5, 5]) if (step * power >= value) return step * power
    return 10 * power
  }

  function draw(): void {
    const canvas = $('chart')
    if (!(canvas instanceof HTMLCanvasElement)) throw new Error('#chart is not a canvas')
    const box = canvas.getBoundingClientRect()
    const ratio = window.devicePixelRatio || 1
    const w = Math.max(1, Math.round(box.width))
    const h = Math.max(1, Math.round(box.height))
    if (canvas.width !== w * ratio || canvas.height !== h * ratio) {
      canvas.width = w * ratio
      canvas.height = h * ratio
    }
    const ctx = canvas.getContext('2d')
    if (ctx === null) throw new Error('the browser gives the chart no 2D canvas')
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0)
    ctx.clearRect(0, 0, w, h)
    const css = getComputedStyle(document.documentElement)
    const color = (name: string) => css.getPropertyValue(name).trim()
    const left = 52
    const right = 8
    const top = 8
    const bottom = 22
    const now = rates.length > 0 ? rates[rates.length - 1]!.at : Date.now()
    const span =
      rates.length > 0
        ? Math.min(HISTORY_MS, Math.max(MIN_SPAN_MS, now - rates[0]!.at))
        : MIN_SPAN_MS
    const visible = rates.filter((p) => now - p.at <= span)
    const peak = Math.max(0, ...visible.map((p) => p.received))
    const max = 4 * niceStep(peak / 4)
    const x = (at: number) => left + (w - left - right) * (1 - (now - at) / span)
    const y = (v: number) => top + (h - top - bottom) * (1 - Math.max(0, v) / max)
    ctx.font = '11px ' + color('--font')
    ctx.lineWidth = 1
    ctx.strokeStyle = color('--grid')
    ctx.fillStyle = color('--muted')
    ctx.textAlign = 'right'
    ctx.textBaseline = 'middle'
    for (let i = 0; i <= 4; i++) {
      const gy = Math.round(y((max * i) / 4)) + 0.5
      ctx.beginPath()
      ctx.moveTo(left, gy)
      ctx.lineTo(w - right, gy)
      ctx.stroke()
      ctx.fillText(compact.format((max * i) / 4), left - 8, gy)
    }
    ctx.textAlign = 'center'
    ctx.textBaseline = 'top'
    const step = span <= 60000 ? 15000 : span <= 180000 ? 30000 : 60000
    for (let ago = 0; ago <= span; ago += step) {
      const label = ago === 0 ? 'now' : ago < 60000 ? `−${ago / 1000}s` : `−${ago / 60000}m`
      ctx.fillText(
        label,
        Math.min(w - right - 12, Math.max(left + 12, x(now - ago))),
        h - bottom + 6,
      )
    }
    if (visible.length < 2) {
      ctx.textBaseline = 'middle'
      ctx.fillText('collecting data…', left + (w - left - right) / 2, top + (h - top - bottom) / 2)
      return
    }
    for (const [key, variable] of SERIES) {
      ctx.beginPath()
      visible.forEach((p, n) => {
        if (n === 0) ctx.moveTo(x(p.at), y(p[key]))
        else ctx.lineTo(x(p.at), y(p[key]))
      })
      ctx.strokeStyle = color(variable)
      ctx.lineWidth = key === 'received' ? 2 : 1.5
      ctx.lineJoin = 'round'
      ctx.stroke()
      if (key === 'received') {
        ctx.lineTo(x(visible[visible.length - 1]!.at), y(0))
        ctx.lineTo(x(visible[0]!.at), y(0))
        ctx.closePath()
        ctx.globalAlpha = 0.12
        ctx.fillStyle = color(variable)
        ctx.fill()
        ctx.globalAlpha = 1
      }
    }
  }

  // browsers send no headers on a WebSocket: a token given as /dashboard#token=… travels as the
  // subprotocol bearer.<base64url(token)>, and the fragment never reaches a server log
  function protocols(): string[] {
    const token = new URLSearchParams(location.hash.slice(1)).get('token')
    if (!token) return []
    let binary = ''
    for (const byte of new TextEncoder().encode(token)) binary += String.fromCharCode(byte)
    return ['bearer.' + btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')]
  }

  function connect(): void {
    const url = new URL('/live', location.href)
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
    socket = new WebSocket(url, protocols())
    socket.onopen = () => {
      attempts = 0
      // the wait for the first message counts from here, not from 1970
      lastMessageAt = Date.now()
      setStatus('live', 'live')
    }
    socket.onmessage = (message: MessageEvent<string>) => {
      lastMessageAt = Date.now()
      if ($('status').dataset.state !== 'live') setStatus('live', 'live')
      receive(JSON.parse(message.data) as Snapshot | Outage)
    }
    socket.onclose = () => {
      setStatus('offline', 'disconnected, retrying')
      setTimeout(connect, Math.min(10000, 500 * Math.pow(2, attempts++)))
    }
  }

  setInterval(() => {
    if (socket && socket.readyState === WebSocket.OPEN && Date.now() - lastMessageAt > 3000) {
      setStatus(
        'stale',
        `no update for ${duration(Math.round((Date.now() - lastMessageAt) / 1000))}`,
      )
    }
    showAge()
  }, 1000)
  window.addEventListener('resize', draw)
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', draw)
  draw()
  connect()
})()
