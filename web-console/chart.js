// A small SVG line chart: one or more series of {t (ms), v} over a shared time axis.
const NS = 'http://www.w3.org/2000/svg';
const W = 320, H = 120, L = 40, R = 8, T = 8, B = 20;

function s(tag, attrs, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

function short(v) {
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(1) + 'G';
  if (a >= 1e6) return (v / 1e6).toFixed(1) + 'M';
  if (a >= 1e4) return (v / 1e3).toFixed(0) + 'k';
  if (a >= 10 || Number.isInteger(v)) return String(Math.round(v));
  return v.toFixed(2);
}

function clock(t) {
  const d = new Date(t);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/**
 * lineChart(title, [{name, points: [{t, v}]}]) -> <figure>. The description for screen
 * readers gives each series' latest value, minimum and maximum.
 */
export function lineChart(title, series, key) {
  const all = series.flatMap((x) => x.points);
  const fig = document.createElement('figure');
  fig.className = 'chart';
  if (key) fig.dataset.chart = key;
  const cap = document.createElement('figcaption');
  cap.textContent = title;
  fig.append(cap);
  const desc = series.map((x) => {
    const vs = x.points.map((p) => p.v);
    const last = vs.length ? short(vs[vs.length - 1]) : 'no data';
    return vs.length ? `${x.name}: now ${last}, min ${short(Math.min(...vs))}, max ${short(Math.max(...vs))}` : `${x.name}: no data`;
  }).join('; ');
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `${title}. ${desc}` });
  fig.append(svg);
  if (all.length === 0) {
    svg.append(s('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, 'no samples yet'));
    return fig;
  }
  let t0 = Math.min(...all.map((p) => p.t)), t1 = Math.max(...all.map((p) => p.t));
  if (t1 === t0) t1 = t0 + 1;
  let v0 = Math.min(0, ...all.map((p) => p.v)), v1 = Math.max(...all.map((p) => p.v));
  if (v1 <= v0) v1 = v0 + 1;
  const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  const y = (v) => T + (1 - (v - v0) / (v1 - v0)) * (H - T - B);
  for (const g of [v0, (v0 + v1) / 2, v1]) {
    svg.append(s('line', { x1: L, x2: W - R, y1: y(g), y2: y(g), class: 'grid' }));
    svg.append(s('text', { x: L - 4, y: y(g) + 3, 'text-anchor': 'end' }, short(g)));
  }
  svg.append(s('line', { x1: L, x2: L, y1: T, y2: H - B, class: 'axis' }));
  svg.append(s('line', { x1: L, x2: W - R, y1: H - B, y2: H - B, class: 'axis' }));
  svg.append(s('text', { x: L, y: H - 5, 'text-anchor': 'start' }, clock(t0)));
  svg.append(s('text', { x: W - R, y: H - 5, 'text-anchor': 'end' }, clock(t1)));
  series.forEach((ser, i) => {
    if (!ser.points.length) return;
    const pts = ser.points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
    svg.append(s('polyline', { points: pts, class: `s${i % 3}` }));
  });
  if (series.length > 1) {
    const legend = document.createElement('div');
    legend.className = 'legend';
    series.forEach((ser, i) => {
      const sp = document.createElement('span');
      sp.className = `k${i % 3}`;
      sp.textContent = ser.name;
      legend.append(sp);
    });
    fig.append(legend);
  }
  return fig;
}
