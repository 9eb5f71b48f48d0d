// What an event keeps of its page, its referrer and its user agent. Our own few lines rather
// than a parser package: the stats need the family of browser and OS and the kind of device,
// not versions or models, and these rules cover what browsers send today. Anything else is
// `Other`. Nothing here keeps the full user agent or the query string of the page (which may
// carry personal data); only the UTM parameters are read from it.

import { isbot } from 'isbot'

export type PageParts = {
  hostname: string
  pathname: string
  source: string | null
  referrerHost: string | null
  utmMedium: string | null
  utmCampaign: string | null
  utmContent: string | null
  utmTerm: string | null
}

const MAX_PATH = 1024
const MAX_PARAM = 200

/** A URL the tracker reported, or null when it is not an absolute http(s) URL. */
export function parsePageUrl(raw: string): URL | null {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return null
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? url : null
}

/**
 * Text as PostgreSQL can store it: without NUL characters (which a text or jsonb value cannot
 * hold). Every string of an event goes through it, so no event can fail its batch.
 */
export function storable(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '') : text
}

/** Custom properties as stored: storable keys and strings; null when there are none. */
export function storableProperties(
  properties: Record<string, string | number | boolean> | undefined,
): Record<string, string | number | boolean> | null {
  if (!properties) return null
  const out: Record<string, string | number | boolean> = {}
  for (const [key, value] of Object.entries(properties)) {
    const name = storable(key)
    if (name === '' || name === '__proto__') continue
    out[name] =
      typeof value === 'string'
        ? storable(value)
        : Number.isFinite(value) || typeof value === 'boolean'
          ? value
          : String(value)
  }
  return Object.keys(out).length > 0 ? out : null
}

function param(url: URL, name: string): string | null {
  const value = storable(url.searchParams.get(name) ?? '').trim()
  return value ? value.slice(0, MAX_PARAM) : null
}

/** Hostnames without `www.`, lower case: `www.Google.com` → `google.com`. */
function bareHost(hostname: string): string {
  const host = hostname.toLowerCase()
  return host.startsWith('www.') ? host.slice(4) : host
}

/** Referrer hosts shown under a name, as analytics users expect (`google.fr` → Google). */
const KNOWN_SOURCES: Array<[RegExp, string]> = [
  [/(^|\.)google\.[a-z.]+$/, 'Google'],
  [/(^|\.)bing\.com$/, 'Bing'],
  [/(^|\.)duckduckgo\.com$/, 'DuckDuckGo'],
  [/(^|\.)yahoo\.[a-z.]+$/, 'Yahoo!'],
  [/(^|\.)yandex\.[a-z.]+$/, 'Yandex'],
  [/(^|\.)baidu\.com$/, 'Baidu'],
  [/(^|\.)ecosia\.org$/, 'Ecosia'],
  [/(^|\.)(facebook\.com|fb\.me)$/, 'Facebook'],
  [/^(t\.co|twitter\.com|x\.com)$/, 'Twitter'],
  [/(^|\.)linkedin\.com$|^lnkd\.in$/, 'LinkedIn'],
  [/(^|\.)reddit\.com$/, 'Reddit'],
  [/(^|\.)instagram\.com$/, 'Instagram'],
  [/(^|\.)youtube\.com$|^youtu\.be$/, 'YouTube'],
  [/^news\.ycombinator\.com$/, 'Hacker News'],
  [/(^|\.)github\.com$/, 'GitHub'],
]

function sourceName(host: string): string {
  for (const [pattern, name] of KNOWN_SOURCES) if (pattern.test(host)) return name
  return host
}

/**
 * The parts of a page view worth keeping. The source is `utm_source` (or `ref`), else the
 * referrer's host unless it is the page's own site (an internal navigation has no source).
 */
export function pageParts(url: URL, referrer: string | null | undefined): PageParts {
  const hostname = storable(bareHost(url.hostname))
  let referrerHost: string | null = null
  if (referrer) {
    const ref = parsePageUrl(referrer)
    if (ref) {
      const host = bareHost(ref.hostname)
      if (host !== hostname) referrerHost = storable(host).slice(0, 253)
    }
  }
  const tagged = param(url, 'utm_source') ?? param(url, 'ref')
  return {
    hostname,
    pathname: storable(decodePath(url.pathname)).slice(0, MAX_PATH),
    source: tagged ?? (referrerHost ? sourceName(referrerHost) : null),
    referrerHost,
    utmMedium: param(url, 'utm_medium'),
    utmCampaign: param(url, 'utm_campaign'),
    utmContent: param(url, 'utm_content'),
    utmTerm: param(url, 'utm_term'),
  }
}

function decodePath(path: string): string {
  try {
    return decodeURIComponent(path)
  } catch {
    return path
  }
}

export type Agent = { device: 'desktop' | 'mobile' | 'tablet'; browser: string; os: string }

// Order matters: Edge and Opera say Chrome too, Chrome says Safari, iOS browsers say Safari.
const BROWSERS: Array<[RegExp, string]> = [
  [/\bEdg(e|A|iOS)?\//, 'Edge'],
  [/\b(OPR|Opera)\//, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\bYaBrowser\//, 'Yandex Browser'],
  [/\b(Firefox|FxiOS)\//, 'Firefox'],
  [/\b(Chrome|CriOS|Chromium|HeadlessChrome)\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*Safari\/|\bMobile\/\w+ Safari\//, 'Safari'],
]

const SYSTEMS: Array<[RegExp, string]> = [
  [/\b(iPhone|iPad|iPod)\b/, 'iOS'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'Chrome OS'],
  [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b|\bX11\b/, 'Linux'],
]

/** User agents remembered at most, and the longest one remembered (browsers send ~150 characters). */
const AGENT_CACHE_SIZE = 10_000
const MAX_CACHED_AGENT = 512
const agents = new Map<string, Agent | null>()

/**
 * What a user agent says (null: a bot, or no user agent), remembered per user-agent string: a
 * site's visitors send few distinct ones, and the bot check runs a very large regular
 * expression. Bounded; the oldest entry goes first.
 */
export function agentOf(ua: string): Agent | null {
  const known = agents.get(ua)
  if (known !== undefined) return known
  const agent = ua === '' || isbot(ua) ? null : parseAgent(ua)
  if (ua.length <= MAX_CACHED_AGENT) {
    if (agents.size >= AGENT_CACHE_SIZE) agents.delete(agents.keys().next().value!)
    agents.set(ua, agent)
  }
  return agent
}

/** Device kind, browser family and OS family of a user agent. */
function parseAgent(ua: string): Agent {
  const browser = BROWSERS.find(([pattern]) => pattern.test(ua))?.[1] ?? 'Other'
  const os = SYSTEMS.find(([pattern]) => pattern.test(ua))?.[1] ?? 'Other'
  let device: Agent['device'] = 'desktop'
  if (/\biPad\b|\bTablet\b|Android(?!.*\bMobile\b)/.test(ua)) device = 'tablet'
  else if (/\bMobi|\biPhone\b|\biPod\b/.test(ua)) device = 'mobile'
  return { device, browser, os }
}

/** A page's hostname as sites are registered: lower case, without `www.` and port. */
export function siteHost(hostname: string): string {
  return bareHost(hostname)
}
