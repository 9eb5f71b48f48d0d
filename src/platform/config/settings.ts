// How a setting is defined, parsed and registered. A setting is one row — its environment
// variable, its default, its parser and one line of documentation — and everything else is
// derived from the rows: the type of the values, the loader, and the README's configuration
// table (`npm run docs:config` writes it, a test fails when it is stale). The platform's own
// settings are one table (./index.ts); a module defines its own with `defineSettings()` beside
// its code, and the platform never names it.
import type { Config } from './index.ts'

/** A start-up setting that cannot be used: the message names the variable and what it accepts. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

export type Env = Record<string, string | undefined>

/** Turns the variable's text (never empty) into its value, or throws a ConfigError naming it. */
export type Parse<T> = (raw: string, env: string) => T

export type Setting<T = unknown> = {
  /** The environment variable. */
  env: string
  /** The value when the variable is unset or empty. */
  default: T
  parse: Parse<T>
  /** What the setting does, in one line of Markdown: the README's table shows it. */
  doc: string
  /** How the README shows the default, when the value alone would not say it (`generated`). */
  shown?: string
}

/** Settings by the name of the field that holds their value. */
export type SettingsTable = Record<string, Setting>

/** The parsed values of a table: each field is its parser's result or its default. */
export type SettingValues<S extends SettingsTable> = {
  readonly [K in keyof S]: S[K]['default'] | ReturnType<S[K]['parse']>
}

// ---- parsers --------------------------------------------------------------------------------

/** Any text, as given. */
export const text: Parse<string> = (raw) => raw

/** A whole number within [min, max]. */
export function integer(min: number, max: number): Parse<number> {
  return (raw, env) => {
    const value = Number(raw)
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new ConfigError(`${env} must be an integer from ${min} to ${max}, got "${raw}"`)
    }
    return value
  }
}

/** On or off: 1, true, yes or 0, false, no, in any case. */
export const flag: Parse<boolean> = (raw, env) => {
  const value = raw.toLowerCase()
  if (value === '1' || value === 'true' || value === 'yes') return true
  if (value === '0' || value === 'false' || value === 'no') return false
  throw new ConfigError(`${env} must be 1 or 0, got "${raw}"`)
}

/** One of a closed list of words. */
export function oneOf<const W extends string>(words: readonly W[]): Parse<W> {
  return (raw, env) => {
    if ((words as readonly string[]).includes(raw)) return raw as W
    throw new ConfigError(`${env} must be one of ${words.join(', ')}, got "${raw}"`)
  }
}

/** Text of at least `min` characters (key material). The value is never echoed. */
export function atLeast(min: number): Parse<string> {
  return (raw, env) => {
    if (raw.length < min) throw new ConfigError(`${env} must be at least ${min} characters`)
    return raw
  }
}

/** Text matching `pattern`, described for the operator by `what`. The value is never echoed. */
export function matching(pattern: RegExp, what: string): Parse<string> {
  return (raw, env) => {
    if (!pattern.test(raw)) throw new ConfigError(`${env} must be ${what}`)
    return raw
  }
}

/** An absolute URL, without trailing slashes (links are built by appending paths). */
export const absoluteUrl: Parse<string> = (raw, env) => {
  try {
    new URL(raw)
  } catch {
    throw new ConfigError(`${env} must be an absolute URL, got "${raw}"`)
  }
  return raw.replace(/\/+$/, '')
}

/** 1 to 50 comma-separated delays in seconds, each at most 7 days. */
export const delays: Parse<readonly number[]> = (raw, env) => {
  const parts = raw.split(',').map((s) => Number(s.trim()))
  if (parts.length > 50 || parts.some((n) => !Number.isFinite(n) || n < 0 || n > 7 * 86_400)) {
    throw new ConfigError(`${env} must be 1 to 50 comma-separated delays in seconds, such as 0,5,300`)
  }
  return Object.freeze(parts)
}

// ---- parsing and the registry ---------------------------------------------------------------

/** Parses a table from `env`, row by row, and freezes the result; the first bad row throws. */
export function parseSettings<S extends SettingsTable>(table: S, env: Env): SettingValues<S> {
  const values: Record<string, unknown> = {}
  for (const [key, setting] of Object.entries(table)) {
    const raw = env[setting.env]
    values[key] = raw === undefined || raw === '' ? setting.default : setting.parse(raw, setting.env)
  }
  return Object.freeze(values) as SettingValues<S>
}

export type ModuleSettings<S extends SettingsTable> = {
  readonly owner: string
  readonly table: S
  /** This table's values in the environment `config` was loaded from, parsed once and frozen. */
  from(config: Config): SettingValues<S>
}

/** The owner of the settings in ./index.ts, whose values are the `Config` itself. */
export const PLATFORM = 'platform'
const registry: { owner: string; table: SettingsTable }[] = []
/** The environment each loaded config was read from, and the module values parsed from it. */
const loaded = new WeakMap<Config, { env: Env; values: Map<string, unknown> }>()

/**
 * Defines the settings `owner` reads, at the top level of one of its files, so they are
 * registered before the config is loaded: `loadConfig()` then parses them with the platform's
 * (a bad value stops the start) and the README's table lists them. Variable names are unique
 * across the whole registry.
 */
export function defineSettings<S extends SettingsTable>(owner: string, table: S): ModuleSettings<S> {
  if (registry.some((r) => r.owner === owner)) throw new Error(`settings of ${owner} are defined twice`)
  for (const setting of Object.values(table)) {
    const other = registry.find((r) => Object.values(r.table).some((s) => s.env === setting.env))
    if (other) throw new Error(`${setting.env} is defined by both ${other.owner} and ${owner}`)
  }
  registry.push({ owner, table })
  return {
    owner,
    table,
    from(config) {
      const source = loaded.get(config)
      if (!source) throw new Error(`settings of ${owner} are read from a config made by loadConfig()`)
      let values = source.values.get(owner)
      if (values === undefined) {
        values = parseSettings(table, source.env)
        source.values.set(owner, values)
      }
      return values as SettingValues<S>
    },
  }
}

/** Every table defined so far: the platform's first, then the modules' in the order they were defined. */
export function registeredSettings(): readonly { owner: string; table: SettingsTable }[] {
  return [...registry].sort((a, b) => Number(b.owner === PLATFORM) - Number(a.owner === PLATFORM))
}

/**
 * Records the environment `config` was read from and parses every registered module table
 * from it now, so a bad module setting stops the start like a platform one.
 */
export function rememberEnvironment(config: Config, env: Env): void {
  const source = { env: { ...env }, values: new Map<string, unknown>() }
  loaded.set(config, source)
  for (const { owner, table } of registry) {
    if (owner !== PLATFORM) source.values.set(owner, parseSettings(table, source.env))
  }
}
