/**
 * The dashboard's script, in the browser: renders each message that arrives on the WebSocket
 * `/live`. The server sends the last 15 minutes of pulses (one a second: rates, latencies,
 * levels) as a viewer joins, then a snapshot a second; the page keeps the pulses and draws the
 * window picked (1, 5 or 15 minutes). A classic script, inlined into the page by the build, so
 * its scope is closed here rather than by a module.
 */
;(() => {
  interface ActiveTopic {
    topic: string
    events: number
    rate: number
    total: number | null
  }

  /** What the page reads of a `/live` snapshot (`LiveSnapshot` in src/dashboard/live.ts). */
  interface Snapshot {
    at: number
    database: 'up'
    database_ms: number
    started_at: string
    uptime: number
    received: number
    unique_processed: number
    duplicate_dropped: number
    rejected: number
    in_flight: number
    failed: number
    topic_count: number
    shards: ShardRow[]
    pulses: Pulse[]
    active: Record<string, ActiveTopic[]>
  }

  /** Sent instead while the database does not answer (`LiveOutage`). */
  interface Outage {
    at: number
    database: 'down'
    shards: ShardRow[]
    pulses: Pulse[]
    active: Record<string, ActiveTopic[]>
    last: Snapshot | null
  }

  /** Sent first, as the page joins (`LiveHistory`). */
  interface History {
    history: Pulse[]
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

  /** A line of a chart: its colour's CSS variable and its value in a pulse (null: no point). */
  interface Series {
    color: string
    value: (p: Pulse) => number | null
    width?: number
    fill?: boolean
  }

  const HISTORY_MS = 900_000
  /** Points further apart than this are not joined: the process restarted, or the feed stopped. */
  const GAP_MS = 2500
  /** Cards show the latest value seen this recently. */
  const RECENT_MS = 10_000
  /** Colours for the error reasons, in the order they first appear. */
  const PALETTE = ['--bad', '--duplicates', '--violet', '--received', '--pink', '--muted']
  const whole = new Intl.NumberFormat('en', { maximumFractionDigits: 0 })
  const tenths = new Intl.NumberFormat('en', { maximumFractionDigits: 1 })
  const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 })
  const clock = new Intl.DateTimeFormat(undefined, {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  })
  let pulses: Pulse[] = []
  let windowMs = 300_000
  /** The last message's topics and figures, redrawn when the window changes. */
  let active: Record<string, ActiveTopic[]> = {}
  let shown: Snapshot | null = null
  /** Colour of each error reason, kept while the page lives. */
  const reasonColors = new Map<string, string>()
  /** Local clock of the last message, of when the figures shown were taken, of the outage start. */
  let lastMessageAt = 0
  let figuresAt = 0
  let downSince = 0
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

  function rateText(value: number): string {
    return (Math.abs(value) < 10 ? tenths : whole).format(value) + ' /s'
  }

  function ms(value: number | null): string {
    if (value === null) return '–'
    return value >= 1000 ? tenths.format(value / 1000) + ' s' : tenths.format(value) + ' ms'
  }

  function bytes(value: number): string {
    const units = ['B', 'KiB', 'MiB', 'GiB']
    let unit = 0
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024
      unit++
    }
    return `${tenths.format(value)} ${units[unit]}`
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

  /** A card's alarm: `ok`, `warn` (amber) or `bad` (red); none while there is nothing to judge. */
  function judge(id: string, state: 'ok' | 'warn' | 'bad' | null): void {
    const card = $(id)
    if (state === null) delete card.dataset.state
    else card.dataset.state = state
  }

  function setStatus(state: 'live' | 'stale' | 'offline', text: string): void {
    const status = $('status')
    status.dataset.state = state
    status.textContent = text
  }

  /** How old the figures on screen are, ticking between messages; how long the outage lasts. */
  function showAge(): void {
    if (downSince > 0) {
      const seconds = Math.round((Date.now() - downSince) / 1000)
      $('database-detail').textContent = `not answering for ${duration(seconds)}`
    }
    if (figuresAt === 0) return
    const seconds = Math.max(0, Math.round((Date.now() - figuresAt) / 1000))
    $('age').textContent = seconds < 2 ? 'just now' : `${duration(seconds)} ago`
  }

  /** The server's clock `at` as this browser's clock, through the message just received. */
  function local(at: number, message: { at: number }): number {
    return lastMessageAt - (message.at - at)
  }

  function receive(message: Snapshot | Outage | History): void {
    if ('history' in message) {
      pulses = message.history
      renderPulse()
      return
    }
    for (const pulse of message.pulses) addPulse(pulse)
    active = message.active
    document.body.dataset.database = message.database
    $('database').dataset.state = message.database
    $('database').textContent = message.database
    if (message.database === 'up') {
      downSince = 0
      judge('database-card', 'ok')
      $('database-detail').textContent = `answered in ${ms(message.database_ms)}`
      figuresAt = lastMessageAt
      render(message)
    } else {
      if (downSince === 0) downSince = lastMessageAt
      judge('database-card', 'bad')
      // figures from before the outage, drawn once (a viewer who joined during it has none yet)
      const last = message.last
      if (last !== null && (shown === null || shown.at < last.at)) render(last)
      figuresAt = last === null ? 0 : local(last.at, message)
      renderShards(message.shards)
    }
    renderPulse()
    showAge()
  }

  function addPulse(pulse: Pulse): void {
    const newest = pulses.at(-1)
    if (newest !== undefined && newest.at >= pulse.at) return
    pulses.push(pulse)
    while (pulses.length > 0 && pulse.at - pulses[0]!.at > HISTORY_MS) pulses.shift()
  }

  /** The database's figures: totals, the invariant, the shards. */
  function render(s: Snapshot): void {
    $('received').textContent = whole.format(s.received)
    $('unique').textContent = whole.format(s.unique_processed)
    $('duplicates').textContent = whole.format(s.duplicate_dropped)
    $('rejected').textContent = whole.format(s.rejected)
    const holds = s.received === s.unique_processed + s.duplicate_dropped + s.in_flight
    $('invariant-card').dataset.ok = String(holds)
    $('invariant').textContent = holds ? 'holds' : 'broken'
    $('uptime').textContent = duration(s.uptime)
    $('started').textContent = new Date(s.started_at).toLocaleString()
    $('updated').textContent = clock.format(new Date(s.at))
    $('topic-count').textContent =
      whole.format(s.topic_count) + (s.topic_count === 1 ? ' topic' : ' topics') + ' in all'
    renderShards(s.shards)
    shown = s
  }

  /** What this process did in the last second, and over the window: needs no database. */
  function renderPulse(): void {
    const p = pulses.at(-1)
    if (p !== undefined) {
      $('received-rate').textContent = rateText(p.received)
      $('unique-rate').textContent = rateText(p.unique)
      $('duplicates-rate').textContent = rateText(p.duplicates)
      let refused = 0
      let errors = 0
      let top: [string, number] | null = null
      for (const [reason, rate] of Object.entries(p.errors)) {
        errors += rate
        if (Number(reason.slice(0, 3)) < 500) refused += rate
        if (top === null || rate > top[1]) top = [reason, rate]
      }
      $('rejected-rate').textContent = rateText(refused)
      $('errors-rate').textContent = rateText(errors)
      $('errors-top').textContent = top === null ? 'none' : `mostly ${top[0]}`
      judge('errors-card', errors === 0 ? 'ok' : errors < p.received / 100 ? 'warn' : 'bad')
      $('inflight').textContent = whole.format(p.in_flight)
      const events = p.queue_max > 0 ? p.queued / p.queue_max : 0
      const held = p.held_max_bytes > 0 ? p.held_bytes / p.held_max_bytes : 0
      const fill = Math.max(events, held)
      $('queue-fill').textContent = `${whole.format(100 * fill)}%`
      $('queue-events').textContent =
        `${whole.format(p.queued)} of ${compact.format(p.queue_max)} events`
      $('queue-bytes').textContent = `${bytes(p.held_bytes)} of ${bytes(p.held_max_bytes)}`
      $('queue-meter').style.width = `${Math.min(100, 100 * fill)}%`
      judge('queue-card', fill < 0.5 ? 'ok' : fill < 0.9 ? 'warn' : 'bad')
    }
    latencyCard('latency', 'request_p50', 'request_p99', 1000)
    latencyCard('commit', 'commit_p50', 'commit_p99', 500)
    renderErrors()
    renderTopics()
    drawAll()
  }

  /** The latest quantiles seen lately (a quiet second has none), red above `slowMs`. */
  function latencyCard(
    id: string,
    p50: 'request_p50' | 'commit_p50',
    p99: 'request_p99' | 'commit_p99',
    slowMs: number,
  ): void {
    const newest = pulses.at(-1)?.at ?? 0
    let seen: Pulse | undefined
    for (let i = pulses.length - 1; i >= 0 && newest - pulses[i]!.at <= RECENT_MS; i--) {
      if (pulses[i]![p99] !== null) {
        seen = pulses[i]
        break
      }
    }
    $(`${id}-p99`).textContent = seen === undefined ? 'idle' : ms(seen[p99])
    $(`${id}-p50`).textContent = seen === undefined ? '–' : ms(seen[p50])
    const value = seen?.[p99] ?? null
    judge(
      `${id}-card`,
      value === null ? null : value < slowMs / 4 ? 'ok' : value < slowMs ? 'warn' : 'bad',
    )
  }

  function inWindow(): Pulse[] {
    const newest = pulses.at(-1)?.at ?? 0
    return pulses.filter((p) => newest - p.at < windowMs)
  }

  function windowName(): string {
    return windowMs >= 60_000 ? `last ${windowMs / 60_000} min` : `last ${windowMs / 1000} s`
  }

  function colorOf(reason: string): string {
    let color = reasonColors.get(reason)
    if (color === undefined) {
      color = PALETTE[reasonColors.size % PALETTE.length]!
      reasonColors.set(reason, color)
    }
    return color
  }

  /** Each reason's rate now (the last second) and its count over the window. */
  function renderErrors(): void {
    const totals = new Map<string, number>()
    for (const p of inWindow()) {
      for (const [reason, rate] of Object.entries(p.errors)) {
        totals.set(reason, (totals.get(reason) ?? 0) + rate)
      }
    }
    const now = pulses.at(-1)?.errors ?? {}
    $('errors-window').textContent = windowName()
    const rows = [...totals]
      .sort((a, b) => b[1] - a[1])
      .map(([reason, count]) => {
        const row = element('tr')
        const name = element('td')
        const swatch = element('i', 'swatch')
        swatch.style.background = `var(${colorOf(reason)})`
        name.append(swatch, reason)
        row.append(
          name,
          element('td', '', rateText(now[reason] ?? 0)),
          element('td', '', whole.format(count)),
        )
        return row
      })
    if (rows.length === 0) {
      const row = element('tr')
      const cell = element('td', 'empty', 'No publish errors in the window.')
      cell.setAttribute('colspan', '3')
      row.append(cell)
      rows.push(row)
    }
    $('errors').replaceChildren(...rows)
    $('errors-legend').replaceChildren(
      ...[...totals.keys()].map((reason) => {
        const item = element('span')
        const swatch = element('i')
        swatch.style.background = `var(${colorOf(reason)})`
        item.append(swatch, reason)
        return item
      }),
    )
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
        element('td', '', compact.format(shard.events)),
        element('td', shard.failed_events > 0 ? 'down' : '', whole.format(shard.failed_events)),
        element('td', '', shard.last_batch_ms === null ? '–' : ms(shard.last_batch_ms)),
      )
      return row
    })
    $('shards').replaceChildren(...rows)
    $('shard-summary').textContent =
      `${up} of ${shards.length} workers up · ${whole.format(failed)} failed events`
  }

  /** The most active topics over the window, with their rate and all-time count. */
  function renderTopics(): void {
    const list = $('topics')
    const topics = active[String(windowMs / 1000)] ?? []
    if (topics.length === 0) {
      list.replaceChildren(element('li', 'empty', `No events committed in the ${windowName()}.`))
      return
    }
    const top = topics[0]!.rate
    const items = topics.map((t) => {
      const item = element('li')
      const bar = element('span', 'bar')
      const fill = element('i')
      fill.style.width = `${top > 0 ? (100 * t.rate) / top : 0}%`
      bar.append(fill)
      const name = element('span', 'name', t.topic)
      name.title = `${t.topic}: ${whole.format(t.events)} events in the ${windowName()}`
      item.append(
        name,
        element('b', 'rate', rateText(t.rate)),
        element('span', 'total', t.total === null ? '–' : compact.format(t.total)),
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

  function drawAll(): void {
    drawChart('chart', [
      { color: '--duplicates', value: (p) => p.duplicates, width: 1.5 },
      { color: '--unique', value: (p) => p.unique, width: 1.5 },
      { color: '--received', value: (p) => p.received, width: 2, fill: true },
    ])
    drawChart('latency-chart', [
      { color: '--duplicates', value: (p) => p.commit_p99 },
      { color: '--unique', value: (p) => p.request_p50 },
      { color: '--received', value: (p) => p.request_p99, width: 2 },
    ])
    drawChart(
      'errors-chart',
      [...reasonColors].map(([reason, color]) => ({
        color,
        value: (p: Pulse) => p.errors[reason] ?? 0,
      })),
    )
    drawChart(
      'queue-chart',
      [
        { color: '--duplicates', value: (p) => (100 * p.held_bytes) / (p.held_max_bytes || 1) },
        { color: '--received', value: (p) => (100 * p.queued) / (p.queue_max || 1), fill: true },
      ],
      100,
    )
  }

  /** A line chart of the window; its scale fits every series, so no line is cut at the top. */
  function drawChart(id: string, series: Series[], fixedMax?: number): void {
    const canvas = $(id)
    if (!(canvas instanceof HTMLCanvasElement)) throw new Error(`#${id} is not a canvas`)
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
    const left = 48
    const right = 8
    const top = 8
    const bottom = 22
    const visible = inWindow()
    const now = visible.at(-1)?.at ?? Date.now()
    let peak = 0
    for (const p of visible) for (const s of series) peak = Math.max(peak, s.value(p) ?? 0)
    // a little headroom: a line at the peak stays whole, its width inside the chart
    const max = fixedMax ?? 4 * niceStep((peak * 1.05) / 4)
    const x = (at: number) => left + (w - left - right) * (1 - (now - at) / windowMs)
    const y = (v: number) => top + (h - top - bottom) * (1 - Math.min(max, Math.max(0, v)) / max)
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
    const step = windowMs <= 60_000 ? 15_000 : windowMs <= 300_000 ? 60_000 : 300_000
    for (let ago = 0; ago <= windowMs; ago += step) {
      const label = ago === 0 ? 'now' : ago < 60_000 ? `−${ago / 1000}s` : `−${ago / 60_000}m`
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
    ctx.save()
    ctx.beginPath()
    ctx.rect(left, 0, w - left - right, h - bottom)
    ctx.clip()
    ctx.lineJoin = 'round'
    for (const s of series) {
      // runs of points without gaps: a restart or a silence is not drawn as a slope
      const runs: [number, number][][] = []
      let run: [number, number][] = []
      let before = -Infinity
      for (const p of visible) {
        const v = s.value(p)
        if (v === null || p.at - before > GAP_MS) {
          if (run.length > 0) runs.push(run)
          run = []
        }
        if (v !== null) run.push([x(p.at), y(v)])
        before = p.at
      }
      if (run.length > 0) runs.push(run)
      ctx.strokeStyle = color(s.color)
      ctx.fillStyle = color(s.color)
      ctx.lineWidth = s.width ?? 1.5
      for (const points of runs) {
        ctx.beginPath()
        points.forEach(([px, py], n) => (n === 0 ? ctx.moveTo(px, py) : ctx.lineTo(px, py)))
        if (points.length === 1) ctx.arc(points[0]![0], points[0]![1], 1.5, 0, 2 * Math.PI)
        ctx.stroke()
        if (s.fill === true && points.length > 1) {
          ctx.lineTo(points.at(-1)![0], y(0))
          ctx.lineTo(points[0]![0], y(0))
          ctx.closePath()
          ctx.globalAlpha = 0.12
          ctx.fill()
          ctx.globalAlpha = 1
        }
      }
    }
    ctx.restore()
  }

  function pickWindow(button: HTMLButtonElement): void {
    windowMs = Number(button.dataset.window) * 1000
    for (const other of document.querySelectorAll<HTMLButtonElement>('[data-window]')) {
      other.setAttribute('aria-pressed', String(other === button))
    }
    renderPulse()
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
      receive(JSON.parse(message.data) as Snapshot | Outage | History)
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
  for (const button of document.querySelectorAll<HTMLButtonElement>('[data-window]')) {
    button.addEventListener('click', () => pickWindow(button))
  }
  window.addEventListener('resize', drawAll)
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', drawAll)
  drawAll()
  connect()
})()
