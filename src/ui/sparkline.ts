const BARS = '▁▂▃▄▅▆▇█'

/** A one-line trend (people read a trend faster than a number); empty for fewer than two points. */
export function sparkline(values: readonly number[], width = 24): string {
  if (values.length < 2) return ''
  const points = values.slice(-width)
  const min = Math.min(...points)
  const max = Math.max(...points)
  return points.map((v) => BARS[max === min ? 3 : Math.round(((v - min) / (max - min)) * (BARS.length - 1))]).join('')
}
