// Time series charts, drawn by uPlot: about 50 KB unminified and 20 KB compressed, canvas-based, and
// fast with tens of thousands of points — where SVG libraries (Recharts, Chart.js with its plugins)
// weigh several times as much. The chart is a picture for sighted people; the same figures are in a
// table that screen readers read instead (and that shows when a person asks for it).
import 'uplot/dist/uPlot.min.css'
import { useEffect, useId, useRef, useState } from 'react'
import uPlot from 'uplot'
import { DataTable } from './ui.tsx'

export type Series = {
  /** The name in the legend and the table's column heading. */
  label: string
  /** One value per point of `x`; null where there is none. */
  values: (number | null)[]
  /** A CSS colour or custom property of the theme (`--accent`, `--ok`, `--danger` …). */
  color: string
  /** Fill the area under the line. */
  fill?: boolean
}

/** A CSS colour, with the theme's custom properties resolved on the element. */
function resolveColor(element: Element, color: string): string {
  if (!color.startsWith('--')) return color
  return getComputedStyle(element).getPropertyValue(color).trim() || 'currentColor'
}

/** The value axis' steps between marks when it shows counts. */
const INTEGER_STEPS = [1, 2, 5]
  .flatMap((step) => [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9].map((scale) => step * scale))
  .sort((a, b) => a - b)

/** A faint version of a `#rrggbb` colour for the area under a line; other colours get none. */
function translucent(color: string): string | undefined {
  return /^#[0-9a-f]{6}$/i.test(color) ? `${color}22` : undefined
}

/**
 * A number that changes whenever the theme may have: a choice in the header (`data-theme`) or
 * the system's light or dark mode. The chart's colours are resolved when it is drawn, so it is
 * drawn again in the new ones.
 */
function useThemeVersion(): number {
  const [version, setVersion] = useState(0)
  useEffect(() => {
    const bump = () => setVersion((v) => v + 1)
    const attribute = new MutationObserver(bump)
    attribute.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] })
    const system = window.matchMedia('(prefers-color-scheme: dark)')
    system.addEventListener('change', bump)
    return () => {
      attribute.disconnect()
      system.removeEventListener('change', bump)
    }
  }, [])
  return version
}

/**
 * A line chart over time. `x` holds the start of each interval in seconds since the epoch;
 * `formatX` labels a point in the table.
 */
export function TimeSeriesChart(props: {
  title: string
  x: number[]
  series: Series[]
  formatX: (seconds: number) => string
  height?: number
  /** Counts: the value axis marks whole numbers only. */
  integers?: boolean
}) {
  const box = useRef<HTMLDivElement>(null)
  const [showTable, setShowTable] = useState(false)
  const tableId = useId()
  const { x, series, height = 220, integers = false } = props
  const theme = useThemeVersion()
  // The latest labeller, for the legend while the pointer moves, without drawing the chart again.
  const formatX = useRef(props.formatX)
  formatX.current = props.formatX

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new theme means new colours, read when drawing
  useEffect(() => {
    const element = box.current
    if (!element) return
    const muted = resolveColor(element, '--muted')
    const grid = resolveColor(element, '--border')
    const axis = { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } }
    const plot = new uPlot(
      {
        width: Math.max(element.clientWidth, 200),
        height,
        legend: { show: series.length > 1 },
        cursor: { drag: { x: false, y: false } },
        scales: {
          // One point has no span of its own (uPlot would give it a thousand days): half a day
          // each side puts it in the middle.
          x: {
            time: true,
            range: (_u, min, max) => (x.length === 1 ? [x[0]! - 43_200, x[0]! + 43_200] : [min, max]),
          },
          y: { range: (_u, min, max) => [Math.min(0, min), Math.max(1, max)] },
        },
        axes: [axis, { ...axis, size: 50, ...(integers && { incrs: INTEGER_STEPS }) }],
        series: [
          { label: 'Time', value: (_u, seconds) => (seconds === null ? '—' : formatX.current(seconds)) },
          ...series.map((s) => {
            const stroke = resolveColor(element, s.color)
            return {
              label: s.label,
              stroke,
              width: 2,
              fill: s.fill ? translucent(stroke) : undefined,
              // A line needs two points: a single one is drawn as a dot.
              points: { show: x.length === 1, size: 8 },
            }
          }),
        ],
      },
      [x, ...series.map((s) => s.values)],
      element,
    )
    const resize = new ResizeObserver(() =>
      plot.setSize({ width: Math.max(element.clientWidth, 200), height }),
    )
    resize.observe(element)
    return () => {
      resize.disconnect()
      plot.destroy()
    }
  }, [x, series, height, integers, theme])

  return (
    <figure className="chart">
      <figcaption>
        {props.title}{' '}
        <button
          type="button"
          className="link"
          aria-expanded={showTable}
          aria-controls={tableId}
          onClick={() => setShowTable((shown) => !shown)}
        >
          {showTable ? 'Hide table' : 'Show as table'}
        </button>
      </figcaption>
      <div ref={box} className="chart-canvas" aria-hidden="true" />
      <div id={tableId} className={showTable ? undefined : 'visually-hidden'}>
        <DataTable label={`${props.title} table`} caption={props.title}>
          <thead>
            <tr>
              <th scope="col">Time</th>
              {series.map((s) => (
                <th scope="col" key={s.label}>
                  {s.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {x.map((t, i) => (
              <tr key={t}>
                <th scope="row">{props.formatX(t)}</th>
                {series.map((s) => (
                  <td key={s.label}>{s.values[i] ?? '—'}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </DataTable>
      </div>
    </figure>
  )
}
