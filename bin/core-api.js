#!/usr/bin/env node
// Entry point of `npx core-api …`. The code runs on Node.js 24 (TypeScript type stripping);
// when started by an older Node, hand over to the Node 24 that `npm install` put in
// node_modules (the `node` package), keeping arguments, stdio, exit code and signals.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const major = Number(process.versions.node.split('.')[0])
const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url))

if (major >= 24) {
  await import(cli)
} else {
  const node = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url))
  if (!existsSync(node)) {
    process.stderr.write('core-api needs Node.js 24 or later: run `npm install` in the checkout first.\n')
    process.exit(1)
  }
  const child = spawn(node, [cli, ...process.argv.slice(2)], { stdio: 'inherit' })
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal))
  child.on('exit', (code, signal) => (signal ? process.kill(process.pid, signal) : process.exit(code ?? 1)))
}
