import type { Result } from 'lighthouse'
import { describe, expect, it } from 'vitest'
import { issuesFromResult, scoresFromResult } from './lighthouse-result.ts'

type Audit = { score: number | null; scoreDisplayMode: string; title: string; details?: unknown }

function result(
  audits: Record<string, Audit>,
  refs: Record<string, Array<{ id: string; group?: string }>>,
): Result {
  const categories = Object.fromEntries(
    Object.entries(refs).map(([id, auditRefs]) => [id, { id, score: id === 'seo' ? 0.754 : 1, auditRefs }]),
  )
  return { categories, audits } as unknown as Result
}

const PAGE = 'https://example.com/'

describe('a Lighthouse result as a report', () => {
  it('keeps the category scores as whole numbers, null for a category not run', () => {
    const lhr = result({}, { performance: [], accessibility: [], seo: [] })
    expect(scoresFromResult(lhr)).toEqual({
      performance: 100,
      accessibility: 100,
      bestPractices: null,
      seo: 75,
    })
  })

  it('maps failed audits to issues with the documented severities, one per element', () => {
    const nodes = (...selectors: string[]) => ({
      type: 'table',
      items: selectors.map((selector) => ({ node: { selector } })),
    })
    const lhr = result(
      {
        'image-alt': {
          score: 0,
          scoreDisplayMode: 'binary',
          title: 'No alt',
          details: nodes('img.a', 'img.b', 'img.a'),
        },
        'meta-description': { score: 0, scoreDisplayMode: 'binary', title: 'No description' },
        'unused-javascript': { score: 0.3, scoreDisplayMode: 'metricSavings', title: 'Unused JS' },
        'uses-long-cache-ttl': { score: 0.6, scoreDisplayMode: 'numeric', title: 'Cache' },
        'color-contrast': { score: 0.7, scoreDisplayMode: 'binary', title: 'Contrast' },
        'document-title': { score: 1, scoreDisplayMode: 'binary', title: 'Has a title' },
        'largest-contentful-paint': { score: 0.1, scoreDisplayMode: 'numeric', title: 'LCP' },
        'dom-size': { score: 0, scoreDisplayMode: 'informative', title: 'DOM size' },
        'tap-targets': { score: null, scoreDisplayMode: 'notApplicable', title: 'Tap targets' },
      },
      {
        performance: [
          { id: 'largest-contentful-paint', group: 'metrics' },
          { id: 'unused-javascript' },
          { id: 'uses-long-cache-ttl' },
          { id: 'dom-size' },
        ],
        accessibility: [{ id: 'image-alt' }, { id: 'color-contrast' }],
        seo: [{ id: 'meta-description' }, { id: 'document-title' }, { id: 'tap-targets' }],
      },
    )
    const issue = (type: string, severity: string, message: string, element: string | null = null) => ({
      url: PAGE,
      type,
      severity,
      message,
      element,
    })
    expect(issuesFromResult(lhr, PAGE)).toEqual([
      issue('unused-javascript', 'warning', 'Unused JS'),
      issue('uses-long-cache-ttl', 'notice', 'Cache'),
      issue('image-alt', 'error', 'No alt', 'img.a'),
      issue('image-alt', 'error', 'No alt', 'img.b'),
      issue('color-contrast', 'notice', 'Contrast'),
      issue('meta-description', 'error', 'No description'),
    ])
  })
})
