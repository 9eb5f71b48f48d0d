// What an audit keeps of a Lighthouse result: the four category scores (0–100) and the failed
// audits as issues. An audit has failed when Lighthouse scored it below 0.9 (its own "pass"
// line) in a mode that scores (`binary`, `numeric`, `metricSavings`); the performance metrics
// themselves (group `metrics`) are not issues, the performance score already holds them.
// Severity: a score below 0.5 is an `error` when the audit belongs to accessibility, best
// practices or SEO, a `warning` when it belongs to performance only; a score from 0.5 to below
// 0.9 is a `notice`. A failed audit naming elements gives one issue per element (the first
// MAX_ELEMENTS, `element` = its CSS selector), otherwise one issue without an element.
import type { Result } from 'lighthouse'
import type { NewIssue } from './store.ts'

export type Scores = {
  performance: number | null
  accessibility: number | null
  bestPractices: number | null
  seo: number | null
}

/**
 * What an audit's process is given. `folder` is the audit's own, made and removed by the
 * runner: Chromium's profile and temporary files go there, so nothing of a killed audit stays.
 */
export type ChildInput = { url: string; chromiumPath: string; allowInsecure: boolean; folder: string }
export type ChildMessage = { ok: true; scores: Scores; issues: NewIssue[] } | { ok: false; error: string }

const SCORED = new Set(['binary', 'numeric', 'metricSavings'])
const PASS = 0.9
const MAX_ELEMENTS = 20
const MAX_ISSUES = 1000

function score(lhr: Result, id: string): number | null {
  const value = lhr.categories[id]?.score
  return typeof value === 'number' ? Math.round(value * 100) : null
}

export function scoresFromResult(lhr: Result): Scores {
  return {
    performance: score(lhr, 'performance'),
    accessibility: score(lhr, 'accessibility'),
    bestPractices: score(lhr, 'best-practices'),
    seo: score(lhr, 'seo'),
  }
}

/** The selectors of the elements an audit's details name, if any. */
function selectors(details: unknown): string[] {
  const items = (details as { items?: unknown[] } | undefined)?.items
  if (!Array.isArray(items)) return []
  const out: string[] = []
  for (const item of items) {
    const selector = (item as { node?: { selector?: unknown } })?.node?.selector
    if (typeof selector === 'string' && selector !== '' && !out.includes(selector))
      out.push(selector.slice(0, 1000))
    if (out.length === MAX_ELEMENTS) break
  }
  return out
}

/** The failed audits as issues of the page `url` (the audited URL, so reports of one URL line up). */
export function issuesFromResult(lhr: Result, url: string): NewIssue[] {
  // Which categories each audit counts in; metric audits are left out.
  const categoriesOf = new Map<string, Set<string>>()
  for (const [id, category] of Object.entries(lhr.categories)) {
    for (const ref of category.auditRefs) {
      if (ref.group === 'metrics') continue
      const set = categoriesOf.get(ref.id) ?? new Set<string>()
      set.add(id)
      categoriesOf.set(ref.id, set)
    }
  }
  const issues: NewIssue[] = []
  for (const [id, categories] of categoriesOf) {
    const audit = lhr.audits[id]
    if (!audit || !SCORED.has(audit.scoreDisplayMode) || audit.score === null || audit.score >= PASS) continue
    const performanceOnly = [...categories].every((c) => c === 'performance')
    const severity = audit.score >= 0.5 ? 'notice' : performanceOnly ? 'warning' : 'error'
    const message = audit.title.slice(0, 2000)
    const elements = selectors(audit.details)
    for (const element of elements.length ? elements : [null]) {
      issues.push({ url, type: id, severity, message, element })
    }
  }
  return issues.slice(0, MAX_ISSUES)
}
