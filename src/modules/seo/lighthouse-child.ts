// One Lighthouse audit, in a process of its own (run by runner.ts, which kills the process
// group on timeout and removes the audit's folder afterwards): starts Chromium behind an
// SSRF-guarded proxy, runs Lighthouse against the URL, and sends back the category scores and
// the failed audits as issues over IPC.
//
// Every connection Chromium makes for the page — the document, redirects, subresources,
// WebSockets — goes through the proxy (`--proxy-bypass-list=<-loopback>` removes Chromium's
// implicit loopback bypass), and the proxy resolves each host when it connects and refuses
// private addresses (platform/net's guard), so a DNS answer that changes after the first check
// cannot lead Chromium to an internal address. QUIC is off and WebRTC may not use UDP outside
// the proxy.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import http from 'node:http'
import net, { isIP } from 'node:net'
import { join } from 'node:path'
import lighthouse from 'lighthouse'
import { guardedLookup, isBlockedAddress } from '../../platform/net/ssrf.ts'
import {
  type ChildInput,
  type ChildMessage,
  issuesFromResult,
  scoresFromResult,
} from './lighthouse-result.ts'

const DEVTOOLS_WAIT_MS = 30_000

function refused(host: string, allowInsecure: boolean): boolean {
  const bare = host.replace(/^\[|\]$/g, '')
  return !allowInsecure && isIP(bare) !== 0 && isBlockedAddress(bare)
}

/** An HTTP proxy (plain requests and CONNECT) whose every connection passes the SSRF guard. */
async function startProxy(allowInsecure: boolean): Promise<http.Server> {
  const lookup = guardedLookup(allowInsecure)
  const server = http.createServer((req, res) => {
    let target: URL
    try {
      target = new URL(req.url ?? '')
    } catch {
      res.writeHead(400).end()
      return
    }
    if (target.protocol !== 'http:' || refused(target.hostname, allowInsecure)) {
      res.writeHead(403).end()
      return
    }
    const headers = { ...req.headers }
    delete headers['proxy-connection']
    delete headers['proxy-authorization']
    const upstream = http.request(target, { method: req.method, headers, lookup, agent: false }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502)
      res.end()
    })
    req.pipe(upstream)
  })
  server.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(req.url ?? '')
    socket.on('error', () => {})
    if (!match || refused(match[1]!, allowInsecure)) {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n')
      return
    }
    const host = match[1]!.replace(/^\[|\]$/g, '')
    const upstream = net.connect({ host, port: Number(match[2]), lookup }, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      if (head.length) upstream.write(head)
      upstream.pipe(socket)
      socket.pipe(upstream)
    })
    upstream.on('error', () => socket.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'))
    socket.on('close', () => upstream.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}

/**
 * Starts Chromium with a DevTools port of its own choosing; resolves with that port. Its
 * profile and its temporary files (shared memory, with `--disable-dev-shm-usage`) are kept in
 * the audit's folder, which a killed Chromium cannot clean up itself.
 */
function startChromium(
  path: string,
  folder: string,
  proxyPort: number,
): Promise<{ chrome: ChildProcess; port: number }> {
  const temporary = join(folder, 'tmp')
  mkdirSync(temporary)
  const chrome = spawn(
    path,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      '--disable-dev-shm-usage',
      '--disable-quic',
      '--force-webrtc-ip-handling-policy=disable_non_proxied_udp',
      `--proxy-server=http://127.0.0.1:${proxyPort}`,
      '--proxy-bypass-list=<-loopback>',
      `--user-data-dir=${join(folder, 'profile')}`,
      '--remote-debugging-port=0',
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TMPDIR: temporary } },
  )
  return new Promise((resolve, reject) => {
    let seen = ''
    const timer = setTimeout(
      () => reject(new Error('Chromium did not open its DevTools port')),
      DEVTOOLS_WAIT_MS,
    )
    chrome.once('error', (error) => {
      clearTimeout(timer)
      reject(new Error(`Chromium could not be started (${path}): ${error.message}`))
    })
    chrome.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`Chromium exited at start (code ${code})`))
    })
    chrome.stderr!.on('data', (chunk: Buffer) => {
      seen = (seen + chunk.toString()).slice(-4096)
      const port = /DevTools listening on ws:\/\/[^:]+:(\d+)\//.exec(seen)?.[1]
      if (port) {
        clearTimeout(timer)
        chrome.removeAllListeners('exit')
        resolve({ chrome, port: Number(port) })
      }
    })
  })
}

async function audit(input: ChildInput): Promise<ChildMessage> {
  const proxy = await startProxy(input.allowInsecure)
  let chrome: ChildProcess | null = null
  try {
    const started = await startChromium(
      input.chromiumPath,
      input.folder,
      (proxy.address() as net.AddressInfo).port,
    )
    chrome = started.chrome
    const result = await lighthouse(input.url, {
      port: started.port,
      logLevel: 'silent',
      output: 'json',
      onlyCategories: ['performance', 'accessibility', 'best-practices', 'seo'],
    })
    if (!result) return { ok: false, error: 'Lighthouse returned no result' }
    const { lhr } = result
    if (lhr.runtimeError) return { ok: false, error: `${lhr.runtimeError.code}: ${lhr.runtimeError.message}` }
    return { ok: true, scores: scoresFromResult(lhr), issues: issuesFromResult(lhr, input.url) }
  } finally {
    chrome?.kill('SIGKILL')
    proxy.closeAllConnections()
    proxy.close()
  }
}

/** Longest an orphaned audit spends ending its processes and removing its folder. */
const ABANDON_MS = 10_000

/** A process's state and group, from /proc (Linux); null when it is gone. */
function procStat(pid: number): { state: string; group: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // `pid (comm) state ppid pgrp …`; comm may hold spaces and parentheses.
    const [state, , group] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return { state: state!, group: Number(group) }
  } catch {
    return null
  }
}

/** Running, not just waiting to be reaped: a zombie writes nothing. */
const alive = (pid: number) => (procStat(pid)?.state ?? 'Z') !== 'Z'

/** The other processes of the group this process leads: Chromium and its helpers. */
function groupMembers(): number[] {
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    return [] // no /proc: the group is killed as a whole, below
  }
  return entries
    .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
    .map(Number)
    .filter((pid) => procStat(pid)?.group === process.pid)
}

/**
 * The server that started this audit is gone (killed, crashed), and with it whoever would have
 * cleaned up: the audit ends at once. Chromium and its helpers are killed first, so nothing
 * writes into the audit's folder while it is removed (the runner's job otherwise); then this
 * process ends with whatever else is left of its group.
 */
async function abandon(folder: string): Promise<void> {
  const until = Date.now() + ABANDON_MS
  const pause = () => new Promise((resolve) => setTimeout(resolve, 50))
  // Killed one by one, a process may fork meanwhile, and a folder removed while a process writes
  // may not stay removed: both are done again until no member is left and the folder is gone.
  for (;;) {
    const members = groupMembers().filter(alive)
    for (const pid of members) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // gone already
      }
    }
    while (Date.now() < until && members.some(alive)) await pause()
    try {
      rmSync(folder, { recursive: true, force: true })
    } catch {
      // something still wrote into it: again
    }
    if ((members.length === 0 && !existsSync(folder)) || Date.now() >= until) break
    await pause()
  }
  process.kill(-process.pid, 'SIGKILL')
}

const input = JSON.parse(process.argv[2] ?? '{}') as ChildInput
let abandoned = false
process.once('disconnect', () => {
  abandoned = true
  void abandon(input.folder)
})
audit(input)
  .catch((error: unknown): ChildMessage => ({ ok: false, error: (error as Error)?.message ?? String(error) }))
  .then((message) => {
    // Nobody is left to answer: `abandon` ends the process once the folder is gone.
    if (abandoned || !process.connected) return
    process.send!(message, () => {
      if (!abandoned) process.exit(0)
    })
  })
