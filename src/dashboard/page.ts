/**
 * The live dashboard: one self-contained page (style and script inline, no external fetch: it
 * must work on a host without internet access). tsc copies no .html into dist/, so it lives in a
 * module. Its Content-Security-Policy allows exactly this page's own style and script (by hash)
 * and a connection back to its own origin, so nothing can load from elsewhere.
 */
import { createHash } from 'node:crypto'

const STYLE = `
:root {
  color-scheme: light dark;
  --bg: #f5f6f8; --panel: #ffffff; --border: #e2e5ea; --grid: #eceef2;
  --text: #1b1f24; --muted: #667080;
  --received: #2563eb; --unique: #16a34a; --duplicates: #d97706; --bad: #dc2626;
  --font: system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0e1014; --panel: #161a20; --border: #262c35; --grid: #20252d;
    --text: #e5e8ec; --muted: #8a94a3;
    --received: #60a5fa; --unique: #4ade80; --duplicates: #fbbf24; --bad: #f87171;
  }
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--text); font: 14px/1.45 var(--font);
  font-variant-numeric: tabular-nums;
}
header, main, footer { max-width: 1240px; margin: 0 auto; padding: 0 24px; }
header {
  display: flex; flex-wrap: wrap; gap: 12px 24px; align-items: baseline;
  justify-content: space-between; padding-top: 20px; padding-bottom: 16px;
}
h1 { margin: 0; font-size: 18px; font-weight: 650; letter-spacing: -0.01em; }
h1 small { margin-left: 8px; color: var(--muted); font-size: 14px; font-weight: 400; }
h2 {
  margin: 0; color: var(--muted); font-size: 12px; font-weight: 600;
  letter-spacing: 0.06em; text-transform: uppercase;
}
.meta { display: flex; flex-wrap: wrap; gap: 6px 20px; color: var(--muted); }
.meta b { color: var(--text); font-weight: 600; }
.status::before {
  content: ''; display: inline-block; width: 8px; height: 8px; margin-right: 6px;
  border-radius: 50%; background: var(--muted); vertical-align: 1px;
}
.status[data-state='live'] { color: var(--unique); }
.status[data-state='live']::before { background: var(--unique); }
.status[data-state='stale'] { color: var(--duplicates); }
.status[data-state='stale']::before { background: var(--duplicates); }
.status[data-state='offline'] { color: var(--bad); }
.status[data-state='offline']::before { background: var(--bad); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; }
.card, .panel { background: var(--panel); border: 1px solid var(--border); border-radius: 10px; }
.card { padding: 14px 16px; border-top: 3px solid var(--border); }
.card.received { border-top-color: var(--received); }
.card.unique { border-top-color: var(--unique); }
.card.duplicates { border-top-color: var(--duplicates); }
.card.rejected { border-top-color: var(--bad); }
.card .value { margin-top: 4px; font-size: 28px; font-weight: 650; letter-spacing: -0.02em; }
.card .rate { color: var(--muted); }
.card.invariant[data-ok='true'] { border-top-color: var(--unique); }
.card.invariant[data-ok='true'] .value { color: var(--unique); }
.card.invariant[data-ok='false'] { border-top-color: var(--bad); }
.card.invariant[data-ok='false'] .value { color: var(--bad); }
.panel { margin-top: 12px; padding: 14px 16px; overflow-x: auto; }
.panel-head { display: flex; flex-wrap: wrap; gap: 4px 16px; align-items: baseline; justify-content: space-between; }
.panel-head span { color: var(--muted); }
.legend { display: flex; gap: 16px; color: var(--muted); }
.legend i {
  display: inline-block; width: 12px; height: 3px; margin-right: 6px; border-radius: 2px;
  vertical-align: 3px;
}
.legend .received { background: var(--received); }
.legend .unique { background: var(--unique); }
.legend .duplicates { background: var(--duplicates); }
#chart { display: block; width: 100%; height: 240px; margin-top: 10px; }
.columns { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 12px; }
.columns .panel { margin-top: 12px; }
@media (max-width: 900px) { .columns { grid-template-columns: minmax(0, 1fr); } }
table { width: 100%; margin-top: 8px; border-collapse: collapse; }
th, td { padding: 7px 8px; border-bottom: 1px solid var(--grid); text-align: right; white-space: nowrap; }
th { color: var(--muted); font-size: 12px; font-weight: 500; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
tr:last-child td { border-bottom: 0; }
.up { color: var(--unique); }
.down { color: var(--bad); font-weight: 600; }
.topics { margin: 8px 0 0; padding: 0; list-style: none; }
.topics li {
  display: grid; grid-template-columns: minmax(0, 1fr) auto auto; gap: 2px 12px;
  padding: 6px 0; border-bottom: 1px solid var(--grid);
}
.topics li:last-child { border-bottom: 0; }
.topics .name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.topics .share { min-width: 48px; color: var(--muted); text-align: right; }
.topics .bar { grid-column: 1 / -1; height: 4px; border-radius: 2px; background: var(--grid); }
.topics .bar i { display: block; height: 100%; border-radius: 2px; background: var(--unique); }
.empty { padding: 16px 0; color: var(--muted); }
footer { padding-top: 16px; padding-bottom: 24px; color: var(--muted); font-size: 12px; }
`

const SCRIPT = `
(function () {
  'use strict'
  var HISTORY_MS = 300000
  var MIN_SPAN_MS = 60000
  var COUNTERS = [
    ['received', 'received'],
    ['unique', 'unique_processed'],
    ['duplicates', 'duplicate_dropped'],
    ['rejected', 'rejected'],
    ['inflight', 'in_flight'],
  ]
  var SERIES = [
    ['duplicates', '--duplicates'],
    ['unique', '--unique'],
    ['received', '--received'],
  ]
  var whole = new Intl.NumberFormat('en', { maximumFractionDigits: 0 })
  var tenths = new Intl.NumberFormat('en', { maximumFractionDigits: 1 })
  var compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 })
  var clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })
  var previous = null
  var history = []
  var lastMessageAt = 0
  var attempts = 0
  var socket = null

  function $(id) { return document.getElementById(id) }

  function element(tag, className, text) {
    var node = document.createElement(tag)
    if (className) node.className = className
    if (text !== undefined) node.textContent = text
    return node
  }

  function perSecond(now, before, key) {
    return (now[key] - before[key]) / ((now.at - before.at) / 1000)
  }

  function rateText(value, signed) {
    var sign = signed && value > 0 ? '+' : ''
    return sign + (Math.abs(value) < 10 ? tenths : whole).format(value) + ' /s'
  }

  function duration(seconds) {
    var d = Math.floor(seconds / 86400)
    var h = Math.floor((seconds % 86400) / 3600)
    var m = Math.floor((seconds % 3600) / 60)
    var s = seconds % 60
    if (d > 0) return d + 'd ' + h + 'h ' + m + 'm'
    if (h > 0) return h + 'h ' + m + 'm ' + s + 's'
    return m > 0 ? m + 'm ' + s + 's' : s + 's'
  }

  function setStatus(state, text) {
    var status = $('status')
    status.dataset.state = state
    status.textContent = text
  }

  function render(s) {
    // a restarted server resets its own counters: no rate across that gap
    var comparable = previous !== null && previous.started_at === s.started_at && s.at > previous.at
    COUNTERS.forEach(function (c) {
      $(c[0]).textContent = whole.format(s[c[1]])
      $(c[0] + '-rate').textContent = comparable
        ? rateText(perSecond(s, previous, c[1]), c[1] === 'in_flight')
        : '– /s'
    })
    if (comparable) {
      history.push({
        at: s.at,
        received: perSecond(s, previous, 'received'),
        unique: perSecond(s, previous, 'unique_processed'),
        duplicates: perSecond(s, previous, 'duplicate_dropped'),
      })
      while (history.length > 0 && s.at - history[0].at > HISTORY_MS) history.shift()
    }
    var holds = s.received === s.unique_processed + s.duplicate_dropped + s.in_flight
    $('invariant-card').dataset.ok = String(holds)
    $('invariant').textContent = holds ? 'holds' : 'broken'
    $('uptime').textContent = duration(s.uptime)
    $('started').textContent = new Date(s.started_at).toLocaleString()
    $('updated').textContent = clock.format(new Date(s.at))
    renderShards(s)
    renderTopics(s)
    previous = s
    draw()
  }

  function renderShards(s) {
    var up = 0
    var rows = s.shards.map(function (shard) {
      if (shard.worker_up) up++
      var row = element('tr')
      row.append(
        element('td', '', String(shard.shard)),
        element('td', shard.worker_up ? 'up' : 'down', shard.worker_up ? 'up' : 'down'),
        element('td', '', whole.format(shard.queue_depth)),
        element('td', '', whole.format(shard.batching)),
        element('td', '', whole.format(shard.batches)),
        element('td', '', whole.format(shard.events)),
        element('td', shard.failed_events > 0 ? 'down' : '', whole.format(shard.failed_events)),
        element('td', '', shard.last_batch_ms === null ? '–' : tenths.format(shard.last_batch_ms) + ' ms'),
      )
      return row
    })
    $('shards').replaceChildren.apply($('shards'), rows)
    $('shard-summary').textContent =
      up + ' of ' + s.shards.length + ' workers up · ' + whole.format(s.failed) + ' failed events'
  }

  function renderTopics(s) {
    var list = $('topics')
    $('topic-count').textContent = whole.format(s.topic_count) + (s.topic_count === 1 ? ' topic' : ' topics')
    if (s.top_topics.length === 0) {
      list.replaceChildren(element('li', 'empty', 'No events stored yet.'))
      return
    }
    var top = s.top_topics[0].count
    list.replaceChildren.apply(list, s.top_topics.map(function (t) {
      var item = element('li')
      var bar = element('span', 'bar')
      var fill = element('i')
      fill.style.width = (top > 0 ? (100 * t.count) / top : 0) + '%'
      bar.append(fill)
      var share = s.unique_processed > 0 ? tenths.format((100 * t.count) / s.unique_processed) + '%' : ''
      item.append(element('span', 'name', t.topic), element('b', '', whole.format(t.count)), element('span', 'share', share), bar)
      item.firstChild.title = t.topic
      return item
    }))
  }

  // the smallest of 1, 2, 2.5, 5 × 10^n at or above value: gridlines at round numbers
  function niceStep(value) {
    if (!(value > 0)) return 2.5
    var power = Math.pow(10, Math.floor(Math.log10(value)))
    var steps = [1, 2, 2.5, 5]
    for (var i = 0; i < steps.length; i++) if (steps[i] * power >= value) return steps[i] * power
    return 10 * power
  }

  function draw() {
    var canvas = $('chart')
    var box = canvas.getBoundingClientRect()
    var ratio = window.devicePixelRatio || 1
    var w = Math.max(1, Math.round(box.width))
    var h = Math.max(1, Math.round(box.height))
    if (canvas.width !== w * ratio || canvas.height !== h * ratio) {
      canvas.width = w * ratio
      canvas.height = h * ratio
    }
    var ctx = canvas.getContext('2d')
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0)
    ctx.clearRect(0, 0, w, h)
    var css = getComputedStyle(document.documentElement)
    var color = function (name) { return css.getPropertyValue(name).trim() }
    var left = 52, right = 8, top = 8, bottom = 22
    var now = history.length > 0 ? history[history.length - 1].at : Date.now()
    var span = history.length > 0 ? Math.min(HISTORY_MS, Math.max(MIN_SPAN_MS, now - history[0].at)) : MIN_SPAN_MS
    var visible = history.filter(function (p) { return now - p.at <= span })
    var peak = Math.max.apply(null, visible.map(function (p) { return p.received }).concat([0]))
    var max = 4 * niceStep(peak / 4)
    var x = function (at) { return left + (w - left - right) * (1 - (now - at) / span) }
    var y = function (v) { return top + (h - top - bottom) * (1 - Math.max(0, v) / max) }
    ctx.font = '11px ' + color('--font')
    ctx.lineWidth = 1
    ctx.strokeStyle = color('--grid')
    ctx.fillStyle = color('--muted')
    ctx.textAlign = 'right'
    ctx.textBaseline = 'middle'
    for (var i = 0; i <= 4; i++) {
      var gy = Math.round(y((max * i) / 4)) + 0.5
      ctx.beginPath()
      ctx.moveTo(left, gy)
      ctx.lineTo(w - right, gy)
      ctx.stroke()
      ctx.fillText(compact.format((max * i) / 4), left - 8, gy)
    }
    ctx.textAlign = 'center'
    ctx.textBaseline = 'top'
    var step = span <= 60000 ? 15000 : span <= 180000 ? 30000 : 60000
    for (var ago = 0; ago <= span; ago += step) {
      var label = ago === 0 ? 'now' : ago < 60000 ? '−' + ago / 1000 + 's' : '−' + ago / 60000 + 'm'
      ctx.fillText(label, Math.min(w - right - 12, Math.max(left + 12, x(now - ago))), h - bottom + 6)
    }
    if (visible.length < 2) {
      ctx.textBaseline = 'middle'
      ctx.fillText('collecting data…', left + (w - left - right) / 2, top + (h - top - bottom) / 2)
      return
    }
    SERIES.forEach(function (series) {
      var key = series[0]
      ctx.beginPath()
      visible.forEach(function (p, n) {
        if (n === 0) ctx.moveTo(x(p.at), y(p[key]))
        else ctx.lineTo(x(p.at), y(p[key]))
      })
      ctx.strokeStyle = color(series[1])
      ctx.lineWidth = key === 'received' ? 2 : 1.5
      ctx.lineJoin = 'round'
      ctx.stroke()
      if (key === 'received') {
        ctx.lineTo(x(visible[visible.length - 1].at), y(0))
        ctx.lineTo(x(visible[0].at), y(0))
        ctx.closePath()
        ctx.globalAlpha = 0.12
        ctx.fillStyle = color(series[1])
        ctx.fill()
        ctx.globalAlpha = 1
      }
    })
  }

  // browsers send no headers on a WebSocket: a token given as /dashboard#token=… travels as the
  // subprotocol bearer.<base64url(token)>, and the fragment never reaches a server log
  function protocols() {
    var token = new URLSearchParams(location.hash.slice(1)).get('token')
    if (!token) return []
    var bytes = new TextEncoder().encode(token)
    var binary = ''
    bytes.forEach(function (b) { binary += String.fromCharCode(b) })
    return ['bearer.' + btoa(binary).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '')]
  }

  function connect() {
    var url = new URL('/live', location.href)
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
    socket = new WebSocket(url, protocols())
    socket.onopen = function () {
      attempts = 0
      setStatus('live', 'live')
    }
    socket.onmessage = function (message) {
      lastMessageAt = Date.now()
      if ($('status').dataset.state !== 'live') setStatus('live', 'live')
      render(JSON.parse(message.data))
    }
    socket.onclose = function () {
      setStatus('offline', 'disconnected, retrying')
      setTimeout(connect, Math.min(10000, 500 * Math.pow(2, attempts++)))
    }
  }

  setInterval(function () {
    if (socket && socket.readyState === WebSocket.OPEN && Date.now() - lastMessageAt > 3000) {
      setStatus('stale', 'no update for ' + Math.round((Date.now() - lastMessageAt) / 1000) + 's')
    }
  }, 1000)
  window.addEventListener('resize', draw)
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', draw)
  draw()
  connect()
})()
`

const card = (id: string, title: string) =>
  `<article class="card ${id}"><h2>${title}</h2><div class="value" id="${id}">–</div>` +
  `<div class="rate" id="${id}-rate">– /s</div></article>`

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pubsub-aggregator · live</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>pubsub-aggregator<small>live dashboard</small></h1>
  <div class="meta">
    <span id="status" class="status" data-state="offline">connecting</span>
    <span>uptime <b id="uptime">–</b></span>
    <span>updated <b id="updated">–</b></span>
  </div>
</header>
<main>
  <section class="cards">
    ${card('received', 'Received')}
    ${card('unique', 'Unique')}
    ${card('duplicates', 'Duplicates')}
    ${card('rejected', 'Rejected')}
    ${card('inflight', 'In flight')}
    <article class="card invariant" id="invariant-card"><h2>Invariant</h2>
      <div class="value" id="invariant">–</div>
      <div class="rate">received = unique + duplicates + in flight</div></article>
  </section>
  <section class="panel">
    <div class="panel-head"><h2>Events per second</h2>
      <div class="legend"><span><i class="received"></i>received</span>
        <span><i class="unique"></i>unique</span><span><i class="duplicates"></i>duplicates</span>
      </div></div>
    <canvas id="chart"></canvas>
  </section>
  <div class="columns">
    <section class="panel">
      <div class="panel-head"><h2>Shards</h2><span id="shard-summary"></span></div>
      <table>
        <thead><tr><th>shard</th><th>worker</th><th>queue depth</th><th>batching</th>
          <th>batches</th><th>events</th><th>failed</th><th>last batch</th></tr></thead>
        <tbody id="shards"></tbody>
      </table>
    </section>
    <section class="panel">
      <div class="panel-head"><h2>Top topics</h2><span id="topic-count"></span></div>
      <ol id="topics" class="topics"></ol>
    </section>
  </div>
</main>
<footer>One snapshot a second over the WebSocket <code>/live</code>, shared by every viewer.
  Process started <span id="started">–</span>.</footer>
<script>${SCRIPT}</script>
</body>
</html>
`

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`

export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')
