// PGlite is single-process: two processes writing one data folder would corrupt it. The first
// process to open a folder writes its pid into `core-api.lock`; a later one refuses while that
// process lives, and takes over a lock left by a process that died (kill -9, power loss).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError'
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Takes the folder for this process; returns the function that gives it back. */
export function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true })
  const file = join(dataDir, 'core-api.lock')
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' })
      let released = false
      return () => {
        if (released) return
        released = true
        rmSync(file, { force: true })
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const holder = Number.parseInt(readFileSync(file, 'utf8'), 10)
    if (Number.isInteger(holder) && holder !== process.pid && isAlive(holder)) {
      throw new DataDirInUseError(
        `The data folder ${dataDir} is in use by another core-api process (pid ${holder}). ` +
          'The embedded database allows one process at a time: stop that process, point DATA_DIR ' +
          'at another folder, or use PostgreSQL (DATABASE_URL) to run several instances.',
      )
    }
    rmSync(file, { force: true }) // stale: its process is gone
  }
  throw new DataDirInUseError(`Could not lock the data folder ${dataDir}`)
}
