// Paths: for one page (page= in the URL, else the range's top page), the pages viewed next and
// before it; and the top journeys, the first pages of each visit (steps= of them, 1 to 5).
import { api } from "../api.js";
import { param, setParams } from "../state.js";
import { html, Table, Tile, Loading, Failure, useAsync } from "../ui.js";
import { currentView } from "../view.js";
import { useReport, ReportTile } from "../report.js";

const STEPS = [1, 2, 3, 4, 5];

function PagePicker({ pages, page }) {
  return html`<div class="row-controls">
    <label class="field"><span>Page</span>
      <select value=${page} onChange=${(e) => setParams({ page: e.currentTarget.value })}>
        ${pages.includes(page) ? null : html`<option value=${page}>${page}</option>`}
        ${pages.map((p) => html`<option value=${p}>${p}</option>`)}
      </select></label>
    <label class="field"><span>Journey steps</span>
      <select value=${param("steps") || "3"} onChange=${(e) => setParams({ steps: e.currentTarget.value === "3" ? null : e.currentTarget.value })}>
        ${STEPS.map((s) => html`<option value=${String(s)}>${s}</option>`)}
      </select></label>
  </div>`;
}

function Report({ view, page, steps }) {
  const res = useReport("paths", view, { page, steps, limit: 10 });
  const tile = (kind, title, caption) =>
    html`<${ReportTile} title=${title} id=${kind} res=${res} what="the paths" csvName=${`paths-${kind}.csv`}
      empty=${`No visit viewed ${page} in this range.`} select=${(rows) => rows.filter((r) => r.kind === kind)}
      render=${(data) => {
        const rows = data.results.map((r) => ({ ...r, journey: r.journey && r.journey.join(" → ") }));
        return html`<${Table} caption=${caption} rows=${rows} bar="visits"
          columns=${[kind === "journey" ? "journey" : "page", "visits", "visitors", "share"]} />`;
      }} />`;
  return html`<div class="grid">
    ${tile("next", `After ${page}`, `Pages viewed after ${page}`)}
    ${tile("previous", `Before ${page}`, `Pages viewed before ${page}`)}
    ${tile("journey", `Top journeys (${steps} steps)`, "The first pages of each visit")}
  </div>`;
}

export function Paths() {
  const view = currentView();
  // the pages to choose from: the range's most viewed, the first of them chosen by default
  const body = { site_ids: view.siteIds, date_range: view.dateRange, metrics: ["pageviews"], dimensions: ["page"], limit: 25 };
  const top = useAsync(() => api.query(body), JSON.stringify(body));
  const steps = Math.min(5, Math.max(1, Number(param("steps")) || 3));
  if (top.loading && !top.data) return html`<${Loading} what="the pages" />`;
  if (top.error) return html`<${Failure} error=${top.error} />`;
  const pages = top.data.results.map((r) => r.page).filter((p) => p !== null && p !== undefined);
  const page = param("page") || pages[0];
  if (!page)
    return html`<${Tile} title="Paths" id="paths" wide><p class="status">No page view in this range.</p><//>`;
  return html`<p class="intro">A visit's path is its page views in order (a reload taken once); shares are of the visits that viewed the page, or of all visits for journeys.</p>
    <${PagePicker} pages=${pages} page=${page} />
    <${Report} view=${view} page=${page} steps=${steps} />`;
}
