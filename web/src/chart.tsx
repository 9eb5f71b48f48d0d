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
}) {
  const box = useRef<HTMLDivElement>(null)
  const [showTable, setShowTable] = useState(false)
  const tableId = useId()
  const { x, series, height = 220 } = props

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
        scales: { y: { range: (_u, min, max) => [Math.min(0, min), Math.max(1, max)] } },
        axes: [axis, { ...axis, size: 50 }],
        series: [
          {},
          ...series.map((s) => {
            const stroke = resolveColor(element, s.color)
            return {
              label: s.label,
              stroke,
              width: 2,
              fill: s.fill ? `${stroke}22` : undefined,
              points: { show: false },
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
    // The theme can change under the chart: draw it again in the new colours.
    const theme = new MutationObserver(() => plot.redraw(false, true))
    theme.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] })
    return () => {
      resize.disconnect()
      theme.disconnect()
      plot.destroy()
    }
  }, [x, series, height])

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
