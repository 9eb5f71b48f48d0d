// The noise floor: two identical Fastify hello-world servers compared in turns, as every other
// row compares its baseline and subject. On a quiet machine the ratio is 1.00; how far it
// strays says how far any other ratio of the same run may stray for reasons of the machine.
import { withChild } from './lib/child.ts'
import { HELLO } from './lib/core.ts'
import { compare, load } from './lib/load.ts'
import { comparedRow, type Row } from './lib/report.ts'

export async function noise(): Promise<Row[]> {
  const compared = await withChild(HELLO, {}, (a) =>
    withChild(HELLO, {}, (b) =>
      compare(
        () => load({ server: a, targets: [{ path: '/hello' }] }),
        () => load({ server: b, targets: [{ path: '/hello' }] }),
      ),
    ),
  )
  const row = comparedRow('noise floor: hello-world vs an identical hello-world', compared, 0)
  return [{ ...row, target: '1.00 on a quiet machine', met: true }]
}
