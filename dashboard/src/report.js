// A report tile: one `POST /api/<name>` of web/reports.py asked for the view's sites and dates,
// with the loading, error and empty states, "Show SQL", and CSV as the API's ?format=csv writes it.
import { api } from "./api.js";
import { html, Tile, Loading, Failure, useAsync } from "./ui.js";

// The CSV's columns are the rows' keys in order (as the API's), else the answer's meta.columns.
export function csvColumns(data) {
  const keys = [];
  for (const row of data.results) for (const k of Object.keys(row)) if (!keys.includes(k)) keys.push(k);
  return keys.length ? keys : data.meta.columns || [];
}

export function useReport(name, view, extra) {
  const body = { site_ids: view.siteIds, date_range: view.dateRange, ...extra };
  return useAsync(() => api.report(name, body), name + JSON.stringify(body));
}

// `render(data)` draws the answer; `empty` says what no row means; `controls` stay above the states;
// `select` keeps the tile's own rows when tiles share one answer (the CSV is those rows).
const all = (rows) => rows;
export function ReportTile({ title, id, res, csvName, what, empty, controls, wide = false, render, select = all }) {
  const data = res.data && { ...res.data, results: select(res.data.results) };
  let inner;
  if (res.loading && !data) inner = html`<${Loading} what=${what} />`;
  else if (res.error) inner = html`<${Failure} error=${res.error} />`;
  else if (!data.results.length) inner = html`<p class="status">${empty || "No data for this range."}</p>`;
  else inner = render(data);
  return html`<${Tile} title=${title} id=${id} wide=${wide} sql=${data && data.meta.sql}
    csv=${data && { name: csvName, columns: csvColumns(data), rows: data.results }}>
    ${controls}${inner}
  <//>`;
}

// A row of buttons choosing one of `choices` ([value, text]); the choice is `key` in the URL.
export function Choice({ label, choices, value, onChoose }) {
  return html`<div class="tabs" role="group" aria-label=${label}>
    ${choices.map(
      ([v, text]) => html`<button type="button" class="tab" aria-pressed=${v === value} onClick=${() => onChoose(v)}>${text}</button>`
    )}
  </div>`;
}
