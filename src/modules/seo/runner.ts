// Runs one Lighthouse audit in a child process (lighthouse-child.ts) of its own process group,
// so that a timeout or a shutdown kills the whole tree — the Node process, Chromium and its
// helpers — at once; the audit's folder (Chromium's profile and temporary files) is made here
// and removed when the child ends. Before anything starts, the URL's host is resolved and
// refused when any address it has is private (unless WEBHOOK_ALLOW_INSECURE_URLS); the
// child's proxy checks every connection again when it is made.
import { type ChildProcess, spawn } from 'node:child_process'
import { constants } from 'node:fs'
import { access, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { checkUrl, guardedLookup, UnsafeUrlError } from '../../platform/net/ssrf.ts'
import type { ChildInput, ChildMessage } from './lighthouse-result.ts'

const CHILD = fileURLToPath(new URL('./lighthouse-child.ts', import.meta.url))
const STDERR_TAIL = 2000
const FOLDER_PREFIX = 'core-api-seo-'
/**
 * The longest path Chromium's temporary folder (its TMPDIR, `tmp` in the audit's folder) may
 * have: Chromium does not start at all from 63 characters on (checked with Chromium 156; the
 * sockets it makes there outgrow the 108 bytes a socket's path may hold).
 */
const MAX_CHROMIUM_TMPDIR = 60

/**
 * Where an audit's folder is made: the system's temporary directory, unless its path is too
 * long for Chromium (a deep TMPDIR, as macOS gives every user), then /tmp.
 */
function folderBase(): string {
  const base = tmpdir()
  return join(base, `${FOLDER_PREFIX}XXXXXX`, 'tmp').length <= MAX_CHROMIUM_TMPDIR ? base : '/tmp'
}

export type RunnerOptions = { chromiumPath: string; timeoutMs: number; allowInsecure: boolean }

/** Refuses a URL whose form or whose host's addresses the SSRF guard does not allow. */
async function checkDestination(raw: string, allowInsecure: boolean): Promise<void> {
  const url = checkUrl(raw, allowInsecure)
  const host = url.hostname.replace(/^\[|\]$/g, '')
  const lookup = guardedLookup(allowInsecure)
  await new Promise<void>((resolve, reject) =>
    lookup(host, { all: true }, (error) => (error ? reject(error) : resolve())),
  )
}

function describe(error: unknown): string {
  if (error instanceof UnsafeUrlError) return `The URL is not allowed: ${error.message}.`
  const code = (error as NodeJS.ErrnoException)?.code
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return "The URL's host could not be resolved."
  return `The URL could not be checked: ${(error as Error)?.message ?? String(error)}`
}

export class LighthouseRunner {
  private readonly options: RunnerOptions
  private readonly children = new Set<ChildProcess>()
  /** Set by `killAll`: an audit still checking its URL then starts no process. */
  private killed = false

  constructor(options: RunnerOptions) {
    this.options = options
  }

  /** One audit of `url`: scores and issues, or why there are none. Never throws. */
  async run(url: string): Promise<ChildMessage> {
    const { chromiumPath, timeoutMs, allowInsecure } = this.options
    try {
      await checkDestination(url, allowInsecure)
    } catch (error) {
      return { ok: false, error: describe(error) }
    }
    try {
      await access(chromiumPath, constants.X_OK)
    } catch {
      return {
        ok: false,
        error: `Chromium was not found at ${chromiumPath}: install it or set SEO_CHROMIUM_PATH.`,
      }
    }
    if (this.killed) return STOPPED
    // Made and removed here, not in the child: a child killed (timeout, shutdown) cleans nothing.
    let folder: string
    let child: ChildProcess
    try {
      folder = await mkdtemp(join(folderBase(), FOLDER_PREFIX))
    } catch (error) {
      return {
        ok: false,
        error: `The audit's temporary folder could not be made: ${(error as Error).message}`,
      }
    }
    // Checked again: a shutdown may have begun while the folder was made.
    if (this.killed) {
      await removeFolder(folder)
      return STOPPED
    }
    try {
      const input: ChildInput = { url, chromiumPath, allowInsecure, folder }
      child = spawn(process.execPath, [CHILD, JSON.stringify(input)], {
        detached: true,
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      })
    } catch (error) {
      await removeFolder(folder)
      return { ok: false, error: `The audit process could not start: ${(error as Error).message}` }
    }
    this.children.add(child)
    let stderr = ''
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-STDERR_TAIL)
    })
    return new Promise<ChildMessage>((resolve) => {
      let answer: ChildMessage | null = null
      let ended = ''
      const timer = setTimeout(() => {
        answer = {
          ok: false,
          error: `The audit did not finish within ${Math.round(timeoutMs / 1000)} seconds.`,
        }
        killTree(child)
      }, timeoutMs)
      child.on('message', (message: ChildMessage) => {
        answer ??= message
      })
      child.once('error', (error) => {
        answer ??= { ok: false, error: `The audit process could not start: ${error.message}` }
      })
      child.once('exit', (code, signal) => {
        clearTimeout(timer)
        killTree(child) // Chromium's helpers, if any outlived the child
        ended = signal ?? `code ${code}`
      })
      // After 'exit' once the pipes are closed, or after 'error' alone when it never started.
      child.once('close', async () => {
        clearTimeout(timer)
        this.children.delete(child)
        await removeFolder(folder)
        const tail = stderr.trim().split('\n').at(-1) ?? ''
        resolve(
          answer ?? {
            ok: false,
            error: `The audit process stopped (${ended})${tail ? `: ${tail.slice(0, 500)}` : ''}.`,
          },
        )
      })
    })
  }

  /** Kills every audit in flight (at shutdown), whose runs end as failed, and starts no more. */
  killAll(): void {
    this.killed = true
    for (const child of this.children) killTree(child)
  }
}

const STOPPED: ChildMessage = { ok: false, error: 'The server stopped before the audit started.' }

/** Removes an audit's folder, retrying: a Chromium killed a moment ago may still be writing into it. */
function removeFolder(folder: string): Promise<void> {
  return rm(folder, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }).catch(() => {})
}

/** Kills the child's process group: the child, Chromium and whatever Chromium started. */
function killTree(child: ChildProcess): void {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, 'SIGKILL')
  } catch {
    // already gone
  }
}
