// The SDK's generated sources are the running app's: its types (openapi-typescript) and its
// operation table are regenerated from the document the app serves now and compared with the
// committed files, so a route changed without `npm run sdk:generate` fails here.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { operations } from '../../packages/sdk/src/operations.ts'
import { openapiDocument, SDK_SOURCE_DIR, sdkSources } from '../../src/sdk-generate.ts'

it('the committed schema.d.ts and operations.ts are what the document generates', {
  timeout: 120_000,
}, async () => {
  const doc = await openapiDocument()
  const sources = await sdkSources(doc)
  for (const [name, text] of Object.entries(sources)) {
    expect(
      readFileSync(join(SDK_SOURCE_DIR, name), 'utf8'),
      `${name} is stale: run npm run sdk:generate`,
    ).toBe(text)
  }
  // Every operation of the document has exactly one method.
  const ids = Object.values(operations).flatMap((methods) => Object.values(methods).map((op) => op.id))
  const documented = Object.values(doc.paths).flatMap((methods) =>
    Object.values(methods).map((op) => op.operationId),
  )
  expect([...ids].sort()).toEqual([...documented].sort())
})
