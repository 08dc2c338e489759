// The SQL console: one SELECT over the lake, sandboxed to the user's sites (POST /api/sql);
// the result as a table, as a chart when its shape allows, and as CSV. The query is in the URL.
import { useState } from "preact/hooks";
import { api } from "../api.js";
import { param, setParams } from "../state.js";
import { html, Loading, Failure, useAsync } from "../ui.js";
import { Chart } from "../chart.js";
import { toCsv, download } from "../csv.js";

const EXAMPLE = "select event_type, count(*) as events\nfrom silver.events\ngroup by 1\norder by 2 desc";

function ResultTable({ columns, rows }) {
  if (!rows.length) return html`<p class="status">The query returned no rows.</p>`;
  const show = (v) => (v === null || v === undefined ? "NULL" : typeof v === "object" ? JSON.stringify(v) : String(v));
  return html`<div class="table-wrap"><table class="result">
    <caption class="sr-only">Result of the query</caption>
    <thead><tr>${columns.map((c) => html`<th scope="col" class=${typeof rows[0][c] === "number" ? "num" : ""}>${c}</th>`)}</tr></thead>
    <tbody>${rows.slice(0, 1000).map((r) => html`<tr>${columns.map((c) => html`<td class=${typeof r[c] === "number" ? "num" : ""}>${show(r[c])}</td>`)}</tr>`)}</tbody>
  </table></div>
  ${rows.length > 1000 && html`<p class="status">The first 1,000 of ${rows.length} rows are shown; the CSV has them all.</p>`}`;
}

// A chart when the first column labels the rows and the others hold numbers.
function ResultChart({ columns, rows }) {
  if (rows.length < 2 || columns.length < 2) return null;
  const numeric = columns.slice(1).filter((c) => rows.every((r) => r[c] === null || typeof r[c] === "number"));
  if (!numeric.length) return null;
  const x = rows.map((r) => String(r[columns[0]]));
  const timeLike = /^\d{4}-\d{2}-\d{2}/.test(x[0]);
  return html`<${Chart}
    summary=${`${numeric.join(", ")} by ${columns[0]}, ${rows.length} rows`}
    option=${{
      tooltip: { trigger: "axis" },
      legend: { show: numeric.length > 1, bottom: 0 },
      grid: { left: 56, right: 16, top: 16, bottom: numeric.length > 1 ? 40 : 24 },
      xAxis: { type: "category", data: x.slice(0, 500) },
      yAxis: { type: "value" },
      series: numeric.map((c) => ({ name: c, type: timeLike ? "line" : "bar", data: rows.slice(0, 500).map((r) => r[c]) })),
    }}
  />`;
}

export function Sql() {
  const sql = param("sql") || "";
  const [text, setText] = useState(sql || EXAMPLE);
  const [lastSql, setLastSql] = useState(sql);
  if (sql !== lastSql) {
    setLastSql(sql);
    setText(sql || EXAMPLE);
  }
  const res = useAsync(() => (sql ? api.sql(sql) : null), sql);
  const run = (e) => {
    e.preventDefault();
    setParams({ sql: text });
  };
  const keys = (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === "Enter") run(e);
  };
  const data = res.data;
  let inner = null;
  if (sql && res.loading && !data) inner = html`<${Loading} what="the result" />`;
  else if (res.error) inner = html`<${Failure} error=${res.error} />`;
  else if (data)
    inner = html`<p class="status" role="status">${data.rows.length} row${data.rows.length === 1 ? "" : "s"}${data.truncated ? " (cut at the row limit)" : ""}.</p>
      <${ResultChart} columns=${data.columns} rows=${data.rows} />
      <${ResultTable} columns=${data.columns} rows=${data.rows} />`;
  return html`<form class="console" onSubmit=${run}>
      <label class="field block"><span>SQL (one SELECT over bronze.*, silver.* and gold.* tables; your sites only)</span>
        <textarea name="sql" rows="10" spellcheck="false" value=${text} onInput=${(e) => setText(e.currentTarget.value)} onKeyDown=${keys}></textarea>
      </label>
      <div class="row-controls">
        <button type="submit">Run<span class="sr-only"> the query</span></button>
        <span class="hint">Ctrl+Enter runs it too.</span>
        ${data && html`<button type="button" class="ghost" onClick=${() => download("query.csv", toCsv(data.columns, data.rows))}>CSV<span class="sr-only"> of the result</span></button>`}
      </div>
    </form>
    <section class="tile wide" aria-label="Result" data-tile="result">${inner}</section>`;
}
