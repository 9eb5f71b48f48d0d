// A module's own settings: defined beside the module with defineSettings(), parsed with the
// platform's by loadConfig(), read back typed through the module's reader, listed in the README.
import { describe, expect, expectTypeOf, it } from 'vitest'
import { ConfigError, defineSettings, flag, integer, loadConfig, registeredSettings, text } from './index.ts'
import { rows } from './readme.ts'

// What a module (here a hypothetical sitemap module) writes at the top level of its settings file.
const sitemap = defineSettings('sitemap', {
  maxUrls: {
    env: 'SITEMAP_MAX_URLS',
    default: 50_000,
    parse: integer(1, 50_000),
    doc: 'most URLs in one sitemap file',
  },
  enabled: { env: 'SITEMAP_ENABLED', default: true, parse: flag, doc: '`0` stops serving `/sitemap.xml`' },
  host: { env: 'SITEMAP_HOST', default: null, parse: text, doc: 'host the sitemap names, else `PUBLIC_URL`' },
})

describe('defineSettings', () => {
  it('reads a module’s settings from the environment the config was loaded from', () => {
    const config = loadConfig({ SITEMAP_MAX_URLS: '100', SITEMAP_HOST: 'example.com' })
    const settings = sitemap.from(config)
    expect(settings).toEqual({ maxUrls: 100, enabled: true, host: 'example.com' })
    expect(Object.isFrozen(settings)).toBe(true)
    expect(sitemap.from(config)).toBe(settings)
    expect(sitemap.from(loadConfig({}))).toEqual({ maxUrls: 50_000, enabled: true, host: null })
    expectTypeOf(settings).toEqualTypeOf<
      Readonly<{ maxUrls: number; enabled: boolean; host: string | null }>
    >()
  })

  it('stops loadConfig on a bad module setting, like a platform one', () => {
    expect(() => loadConfig({ SITEMAP_MAX_URLS: '0' })).toThrow(
      new ConfigError('SITEMAP_MAX_URLS must be an integer from 1 to 50000, got "0"'),
    )
    expect(() => loadConfig({ SITEMAP_ENABLED: 'sometimes' })).toThrow(
      new ConfigError('SITEMAP_ENABLED must be 1 or 0, got "sometimes"'),
    )
  })

  it('parses a table defined after the config was loaded when it is first read', () => {
    const config = loadConfig({ LATE_LIMIT: '7' })
    const late = defineSettings('late', {
      limit: { env: 'LATE_LIMIT', default: 1, parse: integer(1, 10), doc: 'a late limit' },
    })
    expect(late.from(config)).toEqual({ limit: 7 })
  })

  it('reads only configs made by loadConfig', () => {
    const forged = { ...loadConfig({}) }
    expect(() => sitemap.from(forged)).toThrow(
      'settings of sitemap are read from a config made by loadConfig()',
    )
  })

  it('refuses a variable or an owner defined twice', () => {
    expect(() =>
      defineSettings('other', { port: { env: 'PORT', default: 1, parse: integer(1, 2), doc: 'x' } }),
    ).toThrow('PORT is defined by both platform and other')
    expect(() => defineSettings('sitemap', {})).toThrow('settings of sitemap are defined twice')
    expect(registeredSettings().map((r) => r.owner)).not.toContain('other')
  })

  it('lists module settings after the platform’s, so the README table shows them', () => {
    const owners = registeredSettings().map((r) => r.owner)
    expect(owners[0]).toBe('platform')
    expect(owners).toContain('sitemap')
    expect(rows(registeredSettings())).toContainEqual({
      variable: '`SITEMAP_MAX_URLS`',
      default: '`50000`',
      meaning: 'most URLs in one sitemap file',
    })
  })
})
