// Small building blocks every screen repeats: an error the person should read, and a data table
// that scrolls sideways on a phone and can be reached by keyboard to do so.
import type { ReactNode } from 'react'
import { describeError } from './api.ts'

/** The error of a failed request (or a sentence), announced to screen readers; nothing without one. */
export function ErrorText(props: { error: unknown }) {
  if (props.error === null || props.error === undefined || props.error === false) return null
  const text = typeof props.error === 'string' ? props.error : describeError(props.error)
  return (
    <p className="error" role="alert">
      {text}
    </p>
  )
}

/**
 * A table in a horizontally scrolling, focusable region. `label` names the region, `caption` the
 * table (read by screen readers only); `busy` marks a refetch in progress.
 */
export function DataTable(props: { label: string; caption: string; busy?: boolean; children: ReactNode }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a table wider than a phone scrolls, and keyboards must reach it
    <section className="table-wrap" aria-label={props.label} tabIndex={0}>
      <table aria-busy={props.busy}>
        <caption className="visually-hidden">{props.caption}</caption>
        {props.children}
      </table>
    </section>
  )
}

/**
 * Previous / next for a paginated list (nothing when it fits on one page); `label` names the nav,
 * `unit` (keys, apps …) follows the total when there is one.
 */
export function Pager(props: {
  label: string
  unit?: string
  meta: { current_page: number; last_page: number; total?: number } | undefined
  onPage: (page: number) => void
}) {
  const { meta } = props
  if (!meta || meta.last_page <= 1) return null
  return (
    <nav className="pager" aria-label={props.label}>
      <button
        type="button"
        className="secondary"
        disabled={meta.current_page <= 1}
        onClick={() => props.onPage(meta.current_page - 1)}
      >
        Previous
      </button>
      <span>
        Page {meta.current_page} of {meta.last_page}
        {props.unit && meta.total !== undefined && ` (${meta.total} ${props.unit})`}
      </span>
      <button
        type="button"
        className="secondary"
        disabled={meta.current_page >= meta.last_page}
        onClick={() => props.onPage(meta.current_page + 1)}
      >
        Next
      </button>
    </nav>
  )
}
