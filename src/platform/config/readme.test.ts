// The README's configuration table is generated from the settings; this fails when it is stale.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import '../../app.ts' // every module the application loads registers its settings
import { integer, registeredSettings, type SettingsTable, text } from './index.ts'
import { drift, END, readRows, renderTable, replaceSection, rows, START } from './readme.ts'

const README = readFileSync(join(import.meta.dirname, '..', '..', '..', 'README.md'), 'utf8')

describe('README configuration table', () => {
  it('lists every setting with its default and description, and nothing else', () => {
    expect(drift(readRows(README), rows(registeredSettings()))).toEqual([])
  })

  it('is exactly what `npm run docs:config` writes', () => {
    const expected = replaceSection(README, renderTable(rows(registeredSettings())))
    expect(README === expected, 'the README is stale: run npm run docs:config').toBe(true)
  })
})

describe('drift', () => {
  const table: SettingsTable = {
    port: { env: 'PORT', default: 3000, parse: integer(0, 65_535), doc: 'TCP port' },
    host: { env: 'HOST', default: '127.0.0.1', parse: text, doc: 'interface | to bind' },
    url: { env: 'DATABASE_URL', default: null, parse: text, doc: 'connection string' },
  }
  const defined = rows([{ table }])
  const readme = `intro\n\n${START}\n\n${renderTable(defined)}\n\n${END}\n\nrest\n`

  it('finds nothing when the README was generated from the same settings', () => {
    expect(readRows(readme)).toEqual(defined)
    expect(drift(readRows(readme), defined)).toEqual([])
    expect(replaceSection(readme, renderTable(defined))).toBe(readme)
  })

  it('names a setting missing from the README, one it lists that does not exist, and a changed default', () => {
    const changed = rows([
      {
        table: {
          port: { ...table.port!, default: 8080 },
          host: table.host!,
          key: { env: 'ENCRYPTION_KEY', default: null, shown: 'generated', parse: text, doc: 'key material' },
        },
      },
    ])
    expect(drift(readRows(readme), changed)).toEqual([
      '`PORT` defaults to `8080`, the README says `3000`',
      '`ENCRYPTION_KEY` is a setting the README does not list',
      'the README lists `DATABASE_URL`, which is not a setting',
    ])
  })

  it('names a description that changed', () => {
    const edited = readme.replace('connection string', 'where the data is')
    expect(drift(readRows(edited), defined)).toEqual([
      '`DATABASE_URL` is described differently in the README: "where the data is"',
    ])
  })

  it('refuses a README without the markers', () => {
    expect(() => replaceSection('no table here', '')).toThrow('the README has no')
  })
})
