// Retention: cohorts of first-time visitors (rows) and the share of them back in each later
// period (columns), each cell shaded by its share; day or week cohorts (interval= in the URL).
import { param, setParams } from "../state.js";
import { html } from "../ui.js";
import { currentView } from "../view.js";
import { useReport, ReportTile, Choice } from "../report.js";

const PERIODS = { day: 7, week: 8 };

// rows of {cohort, cohort_size, period, visitors, pct} → one line per cohort, its cells by period
export function cohortGrid(results) {
  const cohorts = new Map();
  let last = 0;
  for (const r of results) {
    if (!cohorts.has(r.cohort)) cohorts.set(r.cohort, { cohort: r.cohort, size: r.cohort_size, cells: [] });
    cohorts.get(r.cohort).cells[r.period] = r;
    last = Math.max(last, r.period);
  }
  return { lines: [...cohorts.values()], periods: Array.from({ length: last + 1 }, (_, k) => k) };
}

function Grid({ data, unit }) {
  const { lines, periods } = cohortGrid(data.results);
  return html`<div class="table-wrap"><table class="cohorts">
    <caption class="sr-only">Share of each ${unit}'s new visitors who came back, per ${unit} after</caption>
    <thead><tr><th scope="col">Cohort</th><th scope="col" class="num">Visitors</th>
      ${periods.map((k) => html`<th scope="col" class="num">${unit === "day" ? "Day" : "Week"} ${k}</th>`)}</tr></thead>
    <tbody>${lines.map(
      (line) => html`<tr data-cohort=${line.cohort}>
        <th scope="row">${line.cohort}</th><td class="num">${line.size}</td>
        ${periods.map((k) => {
          const cell = line.cells[k];
          if (!cell) return html`<td class="num heat-none"><span class="sr-only">not yet</span></td>`;
          return html`<td class="num heat" data-period=${k} style=${{ "--heat": Math.round(cell.pct * 0.45) + "%" }}
            title=${`${cell.visitors} of ${line.size} visitors`}>${cell.pct} %</td>`;
        })}
      </tr>`
    )}</tbody>
  </table></div>`;
}

export function Retention() {
  const view = currentView();
  const unit = param("interval") === "week" ? "week" : "day";
  const res = useReport("retention", view, { interval: unit, periods: PERIODS[unit] });
  const controls = html`<${Choice} label="Cohorts by" value=${unit}
    choices=${[["day", "Day"], ["week", "Week"]]} onChoose=${(v) => setParams({ interval: v === "day" ? null : v })} />`;
  return html`<p class="intro">A visitor's cohort is the ${unit} of their first visit; a cell is the share of the cohort who visited again that many ${unit}s later. Retention needs a lasting visitor id (the SDK's anonymous id or a user id).</p>
    <${ReportTile} title="Retention cohorts" id="retention" wide res=${res} what="the cohorts" csvName=${`retention-${unit}.csv`}
      empty="No new visitor in this range." controls=${controls} render=${(data) => html`<${Grid} data=${data} unit=${unit} />`} />`;
}
