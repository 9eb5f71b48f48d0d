// `npx node bench/log-line.ts`: what one access line costs the request thread, measured in
// the process — a request's child logger and its access line, written to a stream that
// discards them — with core-api's logger options (redaction, scrubbing) beside pino with none.
// The load benchmarks (`npm run bench -- logging`) give the cost in a running server; this
// gives the line alone, steadier on a busy machine, and quick enough to run after any change
// to src/platform/logging.ts.
import pino from 'pino'
import { ACCESS_MESSAGE, type AccessLine, loggerOptions } from '../src/platform/logging.ts'

const LINES = 200_000
const ROUNDS = 5
const discard = { write: (_line: string) => {} }
const line: AccessLine = {
  method: 'GET',
  route: '/api/v1/posts/:id',
  status: 200,
  durationMs: 1.23,
  workspaceId: 12,
  principal: 'api_key',
  keyId: 7,
}

/** Median over rounds of the µs one request's child logger and access line take. */
function microseconds(logger: pino.Logger): number {
  const rounds: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const started = process.hrtime.bigint()
    for (let i = 0; i < LINES; i++) logger.child({ reqId: `req_${i}` }).info(line, ACCESS_MESSAGE)
    rounds.push(Number(process.hrtime.bigint() - started) / LINES / 1000)
  }
  return rounds.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]!
}

const options = loggerOptions('info', discard) as pino.LoggerOptions
const ours = microseconds(pino(options, discard))
const bare = microseconds(pino({ level: 'info' }, discard))
console.log(
  `one access line (child logger + info), median of ${ROUNDS} rounds of ${LINES.toLocaleString('en-US')}: ` +
    `${ours.toFixed(2)} µs with core-api's options, ${bare.toFixed(2)} µs with pino's defaults`,
)
