// Experiments: conversion per A/B variant with its 95 % interval, and a verdict in plain words.
import { api } from "../api.js";
import { html, Tile, Table, Loading, Failure, useAsync } from "../ui.js";
import { Chart } from "../chart.js";
import { currentView } from "../view.js";

// What the figures allow one to say: a winner only where the intervals do not overlap.
export function verdict(rows) {
  if (!rows.length) return "No visit in this range carries an A/B variant yet.";
  if (rows.length === 1) return `Only variant ${rows[0].variant} has visits in this range: nothing to compare yet.`;
  const sorted = [...rows].sort((a, b) => b.conversion_rate - a.conversion_rate);
  const best = sorted[0];
  const runnerUp = sorted[1];
  if (best.ci95_low > runnerUp.ci95_high)
    return `Variant ${best.variant} converts better: ${best.conversion_rate} % against ${runnerUp.conversion_rate} % for ${runnerUp.variant}, and their 95 % intervals do not overlap.`;
  return `No clear winner yet: ${best.variant} converts at ${best.conversion_rate} % and ${runnerUp.variant} at ${runnerUp.conversion_rate} %, but their 95 % intervals overlap. Keep the test running.`;
}

export function Experiments() {
  const view = currentView();
  const body = { site_ids: view.siteIds, date_range: view.dateRange };
  const res = useAsync(() => api.experiment(body), JSON.stringify(body));
  const data = res.data;
  let inner;
  if (res.loading && !data) inner = html`<${Loading} what="the experiment" />`;
  else if (res.error) inner = html`<${Failure} error=${res.error} />`;
  else {
    const rows = data.results.map((r) => ({ ...r, interval: `${r.ci95_low} – ${r.ci95_high} %` }));
    inner = html`<p class="verdict" data-verdict>${verdict(data.results)}</p>
      ${rows.length > 0 &&
      html`<${Chart}
        summary=${rows.map((r) => `${r.variant}: ${r.conversion_rate} %`).join("; ")}
        option=${{
          tooltip: { trigger: "axis" },
          grid: { left: 48, right: 16, top: 16, bottom: 24 },
          xAxis: { type: "category", data: rows.map((r) => r.variant) },
          yAxis: { type: "value", name: "%" },
          series: [
            { name: "Interval low", type: "bar", stack: "ci", data: rows.map((r) => r.ci95_low), itemStyle: { opacity: 0 } },
            { name: "95 % interval", type: "bar", stack: "ci", data: rows.map((r) => r.ci95_high - r.ci95_low), itemStyle: { color: "#5b8def", opacity: 0.35 } },
            { name: "Conversion rate", type: "line", data: rows.map((r) => r.conversion_rate), symbolSize: 12, itemStyle: { color: "#5b8def" }, lineStyle: { opacity: 0 } },
          ],
        }}
      />`}
      <${Table} caption="Conversion per variant" rows=${rows}
        columns=${["variant", "visitors", "visits", "conversions", "conversion_rate", "interval"]} />`;
  }
  return html`<p class="intro">A visit converts when it has an order or an affiliate click. The interval is the 95 % Wilson interval of the conversion rate.</p>
    <${Tile} title="Conversion per variant" wide id="experiment" sql=${data && data.meta.sql}
      csv=${data && { name: "experiment.csv", columns: ["variant", "visitors", "visits", "conversions", "conversion_rate", "ci95_low", "ci95_high"], rows: data.results }}>
      ${inner}
    <//>`;
}
