// `npm run docs:config`: rewrites the README's configuration table from the settings tables —
// the platform's and every module's that the application loads.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import './app.ts'
import { registeredSettings } from './platform/config/index.ts'
import { renderTable, replaceSection, rows } from './platform/config/readme.ts'

const path = join(import.meta.dirname, '..', 'README.md')
const before = readFileSync(path, 'utf8')
const after = replaceSection(before, renderTable(rows(registeredSettings())))
if (after === before) {
  process.stdout.write('README.md: the configuration table is up to date\n')
} else {
  writeFileSync(path, after)
  process.stdout.write('README.md: the configuration table was rewritten\n')
}
