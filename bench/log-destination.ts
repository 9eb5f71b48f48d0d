// `npx node bench/log-destination.ts | cat > /dev/null`: what writing access lines costs once
// they are formatted — the hand-over, the buffer and the writes on the thread pool —
// as the whole process's CPU time (all threads, user and system) per line. Lines go to
// standard output through the same destination `npm start` uses; pipe it somewhere cheap, as
// a log collector would read it. `bench/log-line.ts` measures formatting; this measures the
// rest, which a load benchmark only shows mixed with everything else. `LINES_PER_TURN=4`
// measures a server that answers few requests an event-loop turn (the default is 40).
import { flushLogs, loggerOptions } from '../src/platform/logging.ts'

const TURNS = 50_000
/** Access lines per event-loop turn: a busy server answers from a few to tens of requests in one. */
const LINES_PER_TURN = Number(process.env.LINES_PER_TURN ?? 40)
const ROUNDS = 3

const { stream } = loggerOptions('info', 'json') as unknown as { stream: { write(line: string): void } }
const line = (i: number) =>
  `{"level":30,"time":1796679147255,"pid":4321,"hostname":"api-1","reqId":"req_Au1k63KgSY9D4Nj${i % 10}kABjr",` +
  `"method":"GET","route":"/api/v1/me","status":200,"durationMs":0.${i % 97},"workspaceId":1,` +
  `"principal":"api_key","keyId":1,"msg":"request"}\n`

/** One round: TURNS turns of LINES_PER_TURN lines, then everything written out. µs per line. */
async function round(): Promise<number> {
  const started = process.cpuUsage()
  for (let turn = 0; turn < TURNS; turn++) {
    for (let i = 0; i < LINES_PER_TURN; i++) stream.write(line(i))
    await new Promise((resolve) => setImmediate(resolve))
  }
  await flushLogs()
  const used = process.cpuUsage(started)
  return (used.user + used.system) / (TURNS * LINES_PER_TURN)
}

const rounds: number[] = []
for (let i = 0; i < ROUNDS; i++) rounds.push(await round())
const each = rounds.map((r) => r.toFixed(2)).join(', ')
const median = [...rounds].sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]!
process.stderr.write(
  `access lines to standard output, ${LINES_PER_TURN} a turn, median of ${ROUNDS} rounds of ` +
    `${(TURNS * LINES_PER_TURN).toLocaleString('en-US')}: ${median.toFixed(2)} µs of CPU a line ` +
    `(rounds ${each}; the line made, handed over, buffered and written)\n`,
)
