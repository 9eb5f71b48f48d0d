// How much of the machine other programs took while a figure was measured. The benchmark
// shares its cores with whatever else runs (tests, builds), which slows baseline and subject
// unevenly; this makes that visible in the table. Linux only (/proc); elsewhere it reports 0.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'

/** In the names of the benchmark's PostgreSQL databases, so their backends count as ours. */
export const DATABASE_TAG = `core_api_bench_${process.pid}_`
const TICKS_PER_SECOND = 100 // USER_HZ, 100 on Linux

/** Busy ticks of the whole machine (all cores), or null without /proc. */
function machineTicks(): number | null {
  if (!existsSync('/proc/stat')) return null
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields
  return user + nice + system + irq + softirq + steal
}

/** This process (the load generator), the server under load, its PostgreSQL backends, Redis. */
function isOurs(serverPid: number, pid: number, cmdline: string): boolean {
  return (
    pid === process.pid ||
    pid === serverPid ||
    cmdline.includes(DATABASE_TAG) ||
    cmdline.startsWith('redis-server')
  )
}

/** CPU ticks (user + system) one process has used so far, from /proc/<pid>/stat. */
function processTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(fields[11]) + Number(fields[12]) // utime, stime
}

/**
 * Starts counting; the returned function gives the CPU milliseconds the process has used
 * since (in steps of 10 ms), or null without /proc. It tells what a request costs the
 * server in absolute terms; on a shared virtual machine it drifts too (frequency, caches).
 */
export function watchProcessCpu(pid: number): () => number | null {
  if (!existsSync(`/proc/${pid}/stat`)) return () => null
  const start = processTicks(pid)
  return () => ((processTicks(pid) - start) * 1000) / TICKS_PER_SECOND
}

/** Ticks used so far by the processes `counted` picks (by pid and command line), from /proc. */
function ticksOf(counted: (pid: number, cmdline: string) => boolean): number {
  let total = 0
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry)
    if (!Number.isInteger(pid)) continue
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
      if (!counted(pid, cmdline)) continue
      total += processTicks(pid)
    } catch {
      // the process ended meanwhile
    }
  }
  return total
}

const ourTicks = (serverPid: number) => ticksOf((pid, cmdline) => isOurs(serverPid, pid, cmdline))

/**
 * Starts counting the CPU of the benchmark's PostgreSQL backends (their databases carry
 * DATABASE_TAG); the returned function gives their milliseconds since, or null without /proc.
 * On a machine whose cores the server shares with its database, this is the other half of a
 * write's cost.
 */
export function watchDatabaseCpu(): () => number | null {
  if (!existsSync('/proc/stat')) return () => null
  const database = () => ticksOf((_pid, cmdline) => cmdline.includes(DATABASE_TAG))
  const start = database()
  return () => ((database() - start) * 1000) / TICKS_PER_SECOND
}

/**
 * Starts watching; the returned function gives the share of the machine's CPU (0 to 1) that
 * other processes used since, including any that started and ended in between.
 */
export function watchOtherCpu(serverPid: number): () => number {
  const startedAt = performance.now()
  const machine = machineTicks()
  if (machine === null) return () => 0
  const ours = ourTicks(serverPid)
  return () => {
    const ticks = machineTicks()! - machine - (ourTicks(serverPid) - ours)
    const seconds = (performance.now() - startedAt) / 1000
    return Math.max(0, ticks / TICKS_PER_SECOND / (seconds * availableParallelism()))
  }
}
