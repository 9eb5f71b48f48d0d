// One row of the results table: a subject beside the baseline measured in the same run, the
// ratio of their throughputs, and whether the target was met.

/** A throughput (requests or deliveries per second), with latency and failures when loaded. */
export type Figure = {
  rps: number
  p99?: number
  errors?: number
  non2xx?: number
  otherCpu?: number
  /** The server's own CPU time per request, in µs. */
  cpuPerRequest?: number | null
  /** Its PostgreSQL backends' CPU time per request, in µs. */
  dbCpuPerRequest?: number | null
}

/** More CPU than this taken by other programs makes a figure unreliable. */
const NOISY = 0.1

export type Row = {
  name: string
  subject: Figure
  baseline: Figure
  target: string
  met: boolean
  /** Printed under the table (extra figures of the row). */
  note?: string
  /** What the ratio column shows instead of the throughput ratio (a latency row's figures). */
  ratio?: string
}

/** A row whose target is a lowest acceptable subject/baseline throughput ratio. */
function ratioRow(name: string, subject: Figure, baseline: Figure, min: number, note?: string): Row {
  return { name, subject, baseline, target: `>= ${min}`, met: subject.rps / baseline.rps >= min, note }
}

/** A row from a comparison in rounds: the median round, with every round's ratio as its note. */
export function comparedRow(
  name: string,
  compared: { subject: Figure; baseline: Figure; ratios: number[]; cpuRatio: number | null },
  min: number,
): Row {
  const rounds = compared.ratios.map((r) => r.toFixed(2)).join(', ')
  const { subject: s, baseline: b, cpuRatio } = compared
  const cpu =
    cpuRatio === null || !s.cpuPerRequest || !b.cpuPerRequest
      ? s.cpuPerRequest
        ? `; server CPU per request ${s.cpuPerRequest.toFixed(0)} µs (the baseline's is not measured)`
        : ''
      : `; server CPU per request ${s.cpuPerRequest.toFixed(0)} µs vs ${b.cpuPerRequest.toFixed(0)} µs, ` +
        `CPU ratio ${cpuRatio.toFixed(2)} (median of rounds)`
  const db = s.dbCpuPerRequest
    ? `; PostgreSQL CPU per request ${s.dbCpuPerRequest.toFixed(0)} µs` +
      (b.dbCpuPerRequest ? ` vs ${b.dbCpuPerRequest.toFixed(0)} µs` : '')
    : ''
  return ratioRow(name, s, b, min, `ratio per round ${rounds}${cpu}${db}`)
}

const number = (n: number) => Math.round(n).toLocaleString('en-US')
const ms = (n: number | undefined) => (n === undefined ? '—' : `${n} ms`)
const failures = (f: Figure) => (f.errors ?? 0) + (f.non2xx ?? 0)

/** The larger share of CPU other programs took during the subject's or the baseline's run. */
function otherCpu(row: Row): number | undefined {
  const { subject: s, baseline: b } = row
  return s.otherCpu === undefined && b.otherCpu === undefined
    ? undefined
    : Math.max(s.otherCpu ?? 0, b.otherCpu ?? 0)
}
const percent = (share: number | undefined) => (share === undefined ? '—' : `${Math.round(share * 100)} %`)

function verdict(row: Row): string {
  const failed = failures(row.subject) + failures(row.baseline)
  if (failed > 0) return `INVALID: ${failed} failed requests`
  return `${row.met ? 'met' : 'MISSED'}${(otherCpu(row) ?? 0) > NOISY ? ' (noisy)' : ''}`
}

/** The rows as a Markdown table, then their notes. */
export function table(rows: Row[]): string {
  const lines = [
    '| benchmark | subject/s | subject p99 | baseline/s | baseline p99 | ratio | target | other CPU | result |',
    '| --- | --: | --: | --: | --: | --: | --- | --: | --- |',
  ]
  for (const row of rows) {
    const { subject: s, baseline: b } = row
    lines.push(
      `| ${row.name} | ${number(s.rps)} | ${ms(s.p99)} | ${number(b.rps)} | ${ms(b.p99)} | ` +
        `${row.ratio ?? (s.rps / b.rps).toFixed(2)} | ${row.target} | ${percent(otherCpu(row))} | ${verdict(row)} |`,
    )
  }
  lines.push(
    '',
    `other CPU: the most of the machine that other programs took during either run; above ${NOISY * 100} %, the row is marked noisy.`,
  )
  for (const row of rows) if (row.note) lines.push(`- ${row.name}: ${row.note}`)
  return lines.join('\n')
}
