// Overview: the KPI bar with the change against the previous period, the time series,
// and the breakdowns (pages, sources, countries, devices); a row's value filters everything.
import { api } from "../api.js";
import { param, setParams, addFilter, share, compareHow } from "../state.js";
import { html, Tile, Table, Loading, Failure, useAsync, countryName } from "../ui.js";
import { Chart, preloadCharts } from "../chart.js";
import { statsBody, label, formatValue } from "../stats.js";
import { currentView } from "../view.js";
import { EmptySite } from "./empty.js";
import { WorldMap, preloadMap } from "../map.js";
import { buckets, bucketKey } from "../dates.js";

const KPIS = ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration"];
// a lower figure is the better one for these
const LOWER_IS_BETTER = new Set(["bounce_rate"]);

function change(now, before) {
  if (before === null || before === undefined || now === null || now === undefined) return null;
  if (before === 0) return now === 0 ? 0 : null;
  return Math.round((1000 * (now - before)) / before) / 10;
}

function Kpis({ view }) {
  const { body, dropped } = statsBody(view, KPIS, [], view.comparing ? { compare: view.compareHow } : {});
  const res = useAsync(() => (body ? api.query(body) : null), view.key);
  if (res.loading && !res.data) return html`<${Loading} what="key figures" />`;
  if (res.error) return html`<${Failure} error=${res.error} />`;
  const out = res.data;
  const row = (out && out.results[0]) || {};
  const before = out && out.comparison ? out.comparison.results[0] || {} : null;
  // nothing in this range and no filter: has the site ever had an event? (asked only then)
  const nothing = out && !view.filters.length && !row.visits && !row.pageviews;
  return html`${nothing && html`<${EmptySite} view=${view} />`}
  <section class="kpis" aria-label="Key figures" data-sql=${out ? out.meta.sql : ""}>
    ${KPIS.map((m) => {
      if (dropped.includes(m))
        return html`<div class="kpi" data-metric=${m}><h2>${label(m)}</h2><p class="value">—</p><p class="delta">not with this filter</p></div>`;
      const d = before ? change(row[m] ?? 0, before[m] ?? 0) : null;
      const good = d === null || d === 0 ? "" : (d > 0) !== LOWER_IS_BETTER.has(m) ? "up" : "down";
      const prev = before ? formatValue(m, before[m] ?? 0) : null;
      return html`<div class="kpi" data-metric=${m}>
        <h2>${label(m)}</h2>
        <p class="value" data-value=${row[m] ?? 0}>${formatValue(m, row[m] ?? 0)}</p>
        ${before &&
        html`<p class=${"delta " + good}>
          ${d === null ? "new" : `${d > 0 ? "+" : ""}${d} %`}<span class="sr-only"> against ${prev} in ${view.compareHow === "previous_year" ? "the same days a year before" : "the previous period"}</span>
        </p>`}
      </div>`;
    })}
    ${out && !share && html`<p class="kpi-sql"><a class="ghost button" href=${"/sql?" + new URLSearchParams({ sql: out.meta.sql })}>Show SQL<span class="sr-only"> of the key figures</span></a></p>`}
  </section>`;
}

const SERIES_METRICS = ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"];
const INTERVALS = ["hour", "day", "week", "month"];

function Series({ view }) {
  const metric = param("metric") || "visitors";
  const dim = "time:" + view.interval;
  const { body, dropped } = statsBody(view, [metric], [dim], view.comparing ? { compare: view.compareHow } : {});
  const res = useAsync(() => (body ? api.query(body) : null), view.key + metric);
  const controls = html`<div class="row-controls">
    <label class="field"><span>Metric</span>
      <select value=${metric} onChange=${(e) => setParams({ metric: e.currentTarget.value })}>
        ${SERIES_METRICS.map((m) => html`<option value=${m}>${label(m)}</option>`)}
      </select></label>
    <label class="field"><span>Interval</span>
      <select value=${view.interval} onChange=${(e) => setParams({ interval: e.currentTarget.value })}>
        ${INTERVALS.map((i) => html`<option value=${i}>${i}</option>`)}
      </select></label>
  </div>`;
  let inner;
  if (dropped.length) inner = html`<p class="status">${label(metric)} cannot be split by this filter; choose Pageviews.</p>`;
  else if (res.error) inner = html`<${Failure} error=${res.error} />`;
  // no answer yet (also in the render before a new request starts, after a filter that asked nothing)
  else if (!res.data) inner = html`<${Loading} what="the time series" />`;
  else {
    const rows = res.data.results;
    const prev = res.data.comparison ? res.data.comparison.results : null;
    // every bucket of the range is on the axis, a bucket without a row at 0 (for counts) or empty
    const zero = ["visitors", "visits", "pageviews"].includes(metric) ? 0 : null;
    const fill = (range, list) => {
      const keys = buckets(range, view.interval) || list.map((r) => bucketKey(r[dim], view.interval));
      const by = new Map(list.map((r) => [bucketKey(r[dim], view.interval), r[metric]]));
      return [keys, keys.map((k) => (by.has(k) ? by.get(k) : zero))];
    };
    const [x, values] = fill(view.dateRange, rows);
    const series = [{ name: "This period", type: "line", data: values, connectNulls: false, showSymbol: x.length < 40 }];
    if (prev && prev.length)
      series.push({ name: view.compareHow === "previous_year" ? "A year before" : "Previous period", type: "line", data: fill(view.previousRange, prev)[1], lineStyle: { type: "dashed" }, showSymbol: false });
    const total = rows.reduce((a, r) => a + (Number(r[metric]) || 0), 0);
    inner = rows.length
      ? html`<${Chart}
          summary=${`${label(metric)} per ${view.interval}, ${x.length} points from ${x[0]} to ${x[x.length - 1]}`}
          option=${{
            tooltip: { trigger: "axis" },
            legend: { show: series.length > 1, bottom: 0 },
            grid: { left: 48, right: 16, top: 16, bottom: series.length > 1 ? 40 : 24 },
            xAxis: { type: "category", data: x },
            yAxis: { type: "value" },
            series,
          }}
        />
        <p class="sr-only">Sum over the points: ${total}</p>`
      : html`<p class="status">No data for this range and these filters.</p>`;
  }
  const data = res.data;
  return html`<${Tile} title="Over time" wide id="series" sql=${data && data.meta.sql}
    csv=${data && { name: `${metric}-per-${view.interval}.csv`, columns: data.meta.columns, rows: data.results }}>
    ${controls}${inner}
  <//>`;
}

// One breakdown tile: `dimension` by `metric` (or by `fallback` when a filter rules the metric out).
// With `map`, every country is asked for: the world map beside the list draws them all, the list the top `limit`.
const EVERY_COUNTRY = 300;
export function Breakdown({ view, title, id, caption, tabs, dimension, metric, fallback = "pageviews", pick = true, limit = 10, extraFilters = [], map = false }) {
  const v = extraFilters.length ? { ...view, filters: [...view.filters, ...extraFilters] } : view;
  if (map) preloadMap();
  const asked = map ? EVERY_COUNTRY : limit;
  let { body } = statsBody(v, [metric], [dimension], { limit: asked });
  if (!body && fallback) ({ body } = statsBody(v, [fallback], [dimension], { limit: asked }));
  const res = useAsync(() => (body ? api.query(body) : null), v.key + dimension + metric);
  const data = res.data;
  let inner;
  if (!body) inner = html`<p class="status">Not available with this filter.</p>`;
  else if (res.error) inner = html`<${Failure} error=${res.error} />`;
  else if (!data) inner = html`<${Loading} />`;
  else {
    // while the next answer comes, the last one stays, read by its own columns
    const [dim, measure] = data.meta.columns;
    const onPick = pick ? (value) => addFilter(dim, value) : null;
    const table = html`<${Table} caption=${caption || title} columns=${[dim, measure]} rows=${data.results.slice(0, limit)} bar=${measure}
      show=${dim === "country" ? countryName : String} onPick=${onPick} />`;
    inner =
      map && data.results.length
        ? html`<div class="with-map"><${WorldMap} rows=${data.results} dimension=${dim} metric=${measure} label=${label(measure)} onPick=${onPick} />${table}</div>`
        : table;
  }
  return html`<${Tile} title=${title} id=${id} wide=${map} sql=${data && data.meta.sql}
    csv=${data && { name: `${dimension}.csv`, columns: data.meta.columns, rows: data.results }}>${tabs}${inner}<//>`;
}

// Breakdowns that share a tile, one shown at a time (Plausible's tabs): the choice is in the URL.
const GROUPS = [
  { id: "pages", title: "Pages", tabs: [["Top pages", "page", "pageviews"], ["Entry pages", "entry_page", "visits"], ["Exit pages", "exit_page", "visits"]] },
  { id: "sources", title: "Sources", tabs: [["Sources", "source", "visitors"], ["Channels", "channel", "visits"], ["Referrers", "referrer", "visitors"]] },
  { id: "campaigns", title: "Campaigns", tabs: [["UTM campaign", "utm_campaign", "visitors"], ["UTM source", "utm_source", "visitors"], ["UTM medium", "utm_medium", "visitors"], ["UTM term", "utm_term", "visitors"], ["UTM content", "utm_content", "visitors"]] },
  { id: "countries", title: "Countries", map: true, tabs: [["Countries", "country", "visitors"]] },
  { id: "devices", title: "Devices", tabs: [["Devices", "device", "visitors"], ["Browsers", "browser", "visitors"], ["Operating systems", "os", "visitors"]] },
];

function Group({ view, group }) {
  const chosen = param(group.id) || group.tabs[0][1];
  const tab = group.tabs.find((t) => t[1] === chosen) || group.tabs[0];
  const tabs =
    group.tabs.length > 1 &&
    html`<div class="tabs" role="group" aria-label=${group.title + ": show"}>
      ${group.tabs.map(
        ([text, dim]) => html`<button type="button" class="tab" aria-pressed=${dim === tab[1]}
          onClick=${() => setParams({ [group.id]: dim === group.tabs[0][1] ? null : dim })}>${text}</button>`
      )}
    </div>`;
  return html`<${Breakdown} view=${view} title=${group.title} id=${group.id} caption=${tab[0]} dimension=${tab[1]} metric=${tab[2]} tabs=${tabs} map=${!!group.map} />`;
}

export function Overview() {
  const view = currentView();
  preloadCharts(); // the chart library loads while the figures are asked for
  return html`<${Kpis} view=${view} />
    <div class="grid">
      <${Series} view=${view} />
      ${GROUPS.map((g) => html`<${Group} view=${view} group=${g} key=${g.id} />`)}
    </div>`;
}
