// The layering rules of docs/adding-a-resource.md, read from the import lines of every source
// file, so a shortcut fails `npm test` instead of waiting for a review:
//   - the platform never imports a module (it must not name capabilities);
//   - a module reaches another module only through its `index.ts` — or its `tables.ts`, the
//     database schema other tables reference for foreign keys and joins;
//   - the composition root, the app and the CLI reach modules only through their `index.ts`.
// Tests may import what they exercise.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const SRC = dirname(new URL(import.meta.url).pathname)

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : []
  })
}

/** The relative specifiers a file imports (static, dynamic and re-exports). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const found: string[] = []
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]/g))
    found.push(match[1]!)
  for (const match of text.matchAll(/import\(\s*['"](\.[^'"]+)['"]\s*\)/g)) found.push(match[1]!)
  return found
}

/** `modules/<name>/<file>` of a path under src/, or null. */
function moduleOf(path: string): { name: string; file: string } | null {
  const parts = relative(SRC, path).split('/')
  return parts[0] === 'modules' && parts.length >= 3
    ? { name: parts[1]!, file: parts.slice(2).join('/') }
    : null
}

function violations(): string[] {
  const out: string[] = []
  for (const file of sourceFiles(SRC)) {
    const from = relative(SRC, file)
    const fromModule = moduleOf(file)
    for (const specifier of importsOf(file)) {
      const target = resolve(dirname(file), specifier)
      const to = relative(SRC, target)
      const toModule = moduleOf(target)
      if (from.startsWith('platform/') && to.startsWith('modules/')) {
        out.push(`${from} imports ${to}: the platform never imports a module`)
        continue
      }
      if (!toModule || toModule.name === fromModule?.name) continue
      if (toModule.file === 'index.ts') continue
      if (fromModule && toModule.file === 'tables.ts') continue
      out.push(`${from} imports ${to}: reach another module through its index.ts`)
    }
  }
  return out
}

describe('architecture', () => {
  it('keeps modules behind their index.ts and the platform free of modules', () => {
    expect(violations()).toEqual([])
  })

  it('sees the imports it checks', () => {
    // The rule above is only as good as the parser: it must find this file's own imports.
    expect(importsOf(new URL(import.meta.url).pathname)).toEqual([])
    const app = importsOf(join(SRC, 'app.ts'))
    expect(app).toContain('./modules/posts/index.ts')
    expect(app).toContain('./platform/http/openapi.ts')
  })
})
