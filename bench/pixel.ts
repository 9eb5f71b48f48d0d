// Pixel ingestion: POST /api/v1/pixel/track (a `text/plain` body, as `sendBeacon` sends it)
// against a Fastify hello-world, on PostgreSQL and on PGlite. Every 200 `{"tracked": true}` is
// answered only once its batch has committed (group commit), so this is the rate of durable
// events. The pixel's per-IP bucket is lifted (every request comes from one address), and the
// requests carry a browser's User-Agent so that none is dropped as a bot.
// Target: at least 0.5 of hello-world's throughput on PostgreSQL (0.2 on PGlite, one writer).
import { type Child, withChild } from './lib/child.ts'
import { api, BARE_TRACK, HELLO, MASTER, withCore, withDataDirs, withPostgres } from './lib/core.ts'
import { type Comparison, compare, load } from './lib/load.ts'
import { comparedRow, type Row } from './lib/report.ts'

const BROWSER =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36'
const SITE = 'bench.example'
const BODY = JSON.stringify({ event: 'pageview', url: `https://${SITE}/pricing?utm_source=bench` })

const helloLoad = (hello: Child) => () => load({ server: hello, targets: [{ path: '/hello' }] })

/** A beacon's POST, as the tracker sends it from a browser, to `path` on `server`. */
const trackLoad = (server: Child, path: string) => () =>
  load({
    server,
    targets: [{ path }],
    method: 'POST',
    headers: { 'content-type': 'text/plain', 'user-agent': BROWSER },
    body: BODY,
    expect: 200,
  })

function trackVsHello(env: Record<string, string>): Promise<Comparison> {
  return withChild(HELLO, {}, (hello) =>
    withCore({ ...env, RATE_LIMIT_PIXEL_PER_MINUTE: '10000000' }, async (core: Child) => {
      const made = await api(core, MASTER, 'POST', '/api/v1/workspaces', {
        name: 'Pixel bench',
        tier: 'enterprise',
      })
      const workspace = String((made as { data: { id: number } }).data.id)
      const site = await fetch(`${core.url}/api/v1/pixel/sites`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${MASTER}`,
          'content-type': 'application/json',
          'x-workspace-id': workspace,
        },
        body: JSON.stringify({ domain: SITE }),
      })
      if (site.status !== 201) throw new Error(`pixel site: ${site.status} ${await site.text()}`)
      return compare(helloLoad(hello), trackLoad(core, '/api/v1/pixel/track'))
    }),
  )
}

/**
 * What the same POST costs a bare Fastify route that takes the body and writes nothing, against
 * the hello-world: the most any track endpoint could answer here, before its own work.
 */
function ceiling(): Promise<string> {
  return withChild(HELLO, {}, (hello) =>
    withChild(BARE_TRACK, {}, async (bare) => {
      const { ratios, subject, baseline } = await compare(helloLoad(hello), trackLoad(bare, '/track'))
      const median = subject.rps / baseline.rps
      return (
        `; a bare POST route taking the same body and writing nothing answered ${median.toFixed(2)} ` +
        `of hello-world (rounds ${ratios.map((r) => r.toFixed(2)).join(', ')}; ` +
        `${subject.cpuPerRequest?.toFixed(0) ?? '?'} µs of CPU per request)`
      )
    }),
  )
}

export async function pixelPostgres(): Promise<Row[]> {
  const compared = await withPostgres((url) => trackVsHello({ DATABASE_URL: url }))
  const row = comparedRow(
    'POST /api/v1/pixel/track (durable), PostgreSQL, vs Fastify hello-world',
    compared,
    0.5,
  )
  return [{ ...row, note: `${row.note}${await ceiling()}` }]
}

export async function pixelPglite(): Promise<Row[]> {
  const compared = await withDataDirs(1, ([dir]) => trackVsHello({ DATA_DIR: dir! }))
  // No goal is set for the embedded engine (one writer); 0.2 is the floor we hold it to.
  return [comparedRow('POST /api/v1/pixel/track (durable), PGlite, vs Fastify hello-world', compared, 0.2)]
}
