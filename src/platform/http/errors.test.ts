// docs/errors.md is the public catalogue of the code table: every code with its status, and
// nothing the server cannot answer.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ERROR_CODES } from './errors.ts'

describe('the error catalogue', () => {
  it('documents exactly the codes of the table, each with its status', () => {
    const page = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8')
    const documented = new Map<string, number>()
    for (const match of page.matchAll(/^\|\s*(\d{3})\s*\|\s*`([a-z_]+)`\s*\|/gm))
      documented.set(match[2]!, Number(match[1]))
    const table = new Map(Object.entries(ERROR_CODES).map(([code, { status }]) => [code, status]))
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(table))
  })
})
