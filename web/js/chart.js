// Time-series charts: a thin layer over uPlot that sizes itself to its container.
import uPlot from '/vendor/uplot/uPlot.esm.js';

export const COLOURS = {
  accent: '#1d4ed8',
  threshold: '#dc2626',
  second: '#d97706',
  grid: 'rgba(15, 23, 42, 0.08)',
  axis: '#475569',
};

/**
 * lineChart(container, {series: [{label, stroke, dash, width, points}], xLabel, yLabel, height,
 *                       yRange: [min, max] | null, xFmt})
 * Returns {set(data), destroy()}: data is [xs, ys1, ys2, ...] as uPlot wants it.
 */
export function lineChart(container, opts) {
  const height = opts.height || 220;
  const axisFont = '12px system-ui, sans-serif';
  const xFmt = opts.xFmt || ((v) => v);
  const options = {
    width: Math.max(200, container.clientWidth || 600),
    height,
    legend: { show: true, live: false },
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: { time: false },
      y: opts.yRange ? { range: opts.yRange } : { auto: true },
      ...(opts.y2 ? { y2: { auto: true } } : {}),
    },
    axes: [
      { label: opts.xLabel || '', stroke: COLOURS.axis, font: axisFont, labelFont: axisFont,
        grid: { stroke: COLOURS.grid }, ticks: { stroke: COLOURS.grid },
        values: (u, vals) => vals.map(xFmt) },
      { label: opts.yLabel || '', stroke: COLOURS.axis, font: axisFont, labelFont: axisFont,
        grid: { stroke: COLOURS.grid }, ticks: { stroke: COLOURS.grid }, size: 56 },
      ...(opts.y2 ? [{ scale: 'y2', side: 1, label: opts.y2, stroke: COLOURS.axis, font: axisFont,
        labelFont: axisFont, grid: { show: false }, size: 56 }] : []),
    ],
    series: [
      { label: opts.xLabel || 'x', value: (u, v) => (v === null || v === undefined ? '\u2014' : xFmt(v)) },
      ...opts.series.map((s) => ({
        label: s.label,
        stroke: s.stroke,
        width: s.width || 2,
        dash: s.dash,
        scale: s.scale || 'y',
        spanGaps: s.spanGaps !== false,
        points: { show: s.points !== undefined ? s.points : false, size: 5 },
        value: (u, v) => (v === null || v === undefined ? '\u2014' : Number(v).toFixed(s.digits ?? 3)),
      })),
    ],
  };
  const empty = [[], ...opts.series.map(() => [])];
  const plot = new uPlot(options, empty, container);
  // uPlot draws no axes without data: say what will appear instead of showing a blank box.
  const note = document.createElement('p');
  note.className = 'chart-empty';
  note.textContent = opts.emptyText || 'No data yet.';
  container.appendChild(note);
  let lastWidth = options.width;
  const ro = new ResizeObserver(() => {
    const w = Math.max(200, Math.floor(container.clientWidth));
    if (w && w !== lastWidth) {
      lastWidth = w;
      plot.setSize({ width: w, height });
    }
  });
  ro.observe(container);
  return {
    set(data) {
      plot.setData(data);
      note.hidden = data[0].length > 0;
    },
    destroy() { ro.disconnect(); plot.destroy(); note.remove(); },
    plot,
  };
}

/** The running-score chart: score vs the threshold it must reach, over seconds of speech. */
export function scoreChart(container, { xLabel = 'speech (s)', height, emptyText } = {}) {
  return lineChart(container, {
    xLabel,
    emptyText: emptyText || 'The score appears after about a second of speech.',
    yLabel: 'score (cosine)',
    height: height || 240,
    xFmt: (v) => String(Math.round(v * 10) / 10),
    series: [
      { label: 'score', stroke: COLOURS.accent, width: 2, points: true },
      { label: 'threshold', stroke: COLOURS.threshold, width: 2, dash: [6, 4] },
    ],
  });
}
