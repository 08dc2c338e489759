// The click-through of recommendations (docs/recommendations.md) for the selected site and range:
// GET /api/recommendations/clicks?site=S&from=D&to=D. The total click-through as a figure, the
// answers served and clicked beneath, and a small daily line; a hint when nothing was served.
import { rest } from "../api.js";
import { share } from "../state.js";
import { html, Tile, Loading, Failure, useAsync } from "../ui.js";
import { Chart } from "../chart.js";

const percent = (v) => (v === null || v === undefined ? "—" : `${(100 * v).toLocaleString("en", { maximumFractionDigits: 2 })} %`);

function Figures({ data }) {
  const t = data.totals;
  const rows = data.results;
  return html`<p class="kpi-figure" data-click-through=${t.click_through}>
      <strong class="value">${percent(t.click_through)}</strong> click-through
    </p>
    <p class="totals" data-rec-totals>
      <strong data-served=${t.served}>${t.served.toLocaleString("en")}</strong> answers served,
      <strong data-clicked=${t.clicked_answers}>${t.clicked_answers.toLocaleString("en")}</strong> clicked
      (${t.clicks.toLocaleString("en")} clicks).
    </p>
    <${Chart} height=${120}
      summary=${`Click-through of recommendations per day, ${rows.length} days from ${rows[0].day} to ${rows[rows.length - 1].day}, ${percent(t.click_through)} in all`}
      option=${{
        tooltip: { trigger: "axis" },
        grid: { left: 48, right: 16, top: 12, bottom: 24 },
        xAxis: { type: "category", data: rows.map((r) => r.day) },
        yAxis: { type: "value", axisLabel: { formatter: "{value} %" } },
        series: [{ name: "Click-through (%)", type: "line", connectNulls: false,
          data: rows.map((r) => (r.click_through === null ? null : Math.round(r.click_through * 10000) / 100)) }],
      }}
    />`;
}

export function RecommendationClicks({ view }) {
  const one = view.siteIds.length === 1 ? view.siteIds[0] : null;
  const [from, to] = view.dateRange;
  const path = one && !share && `/api/recommendations/clicks?${new URLSearchParams({ site: one, from, to })}`;
  const res = useAsync(() => (path ? rest.get(path) : null), path || "none");
  if (share) return null; // a shared view's session reads reports only
  const data = res.data;
  let inner;
  if (!one) inner = html`<p class="status">Choose one site to see the click-through of its recommendations.</p>`;
  else if (res.loading && !data) inner = html`<${Loading} what="the click-through" />`;
  else if (res.error) inner = html`<${Failure} error=${res.error} />`;
  else if (!data || !data.totals.served)
    inner = html`<p class="status" data-rec-empty>No recommendation was served in this range. A storefront asks
      <code>GET /api/recommendations</code> and sends <code>recommendation_click</code> events (see docs/recommendations.md).</p>`;
  else inner = html`<${Figures} data=${data} />`;
  const csv = data && data.totals.served ? { name: "recommendation-clicks.csv", columns: ["day", "served", "clicks", "clicked_answers", "click_through"], rows: data.results } : null;
  return html`<${Tile} title="Recommendations" id="recommendations" sql=${data && data.meta.clicks_sql} csv=${csv}>${inner}<//>`;
}
