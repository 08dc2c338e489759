// Funnels: the built-in funnels (comparison, shop) and a builder of any steps; visitors,
// conversion and drop-off per step, in sequence, strictly or in any order, and split by a
// dimension of the entry event. The funnel lives in the URL (funnel=shop or steps=...,
// order=strict|any, split=variant|channel|...).
import { useState } from "preact/hooks";
import { api } from "../api.js";
import { param, setParams } from "../state.js";
import { html, Tile, Loading, Failure, useAsync } from "../ui.js";
import { Chart } from "../chart.js";
import { currentView } from "../view.js";

const KINDS = [
  ["page", "Page path (* matches any text)"],
  ["event", "Event type"],
  ["custom", "Custom event name"],
];
const ORDERS = [
  ["sequence", "In sequence"],
  ["strict", "Strict order"],
  ["any", "Any order"],
];
// the API's breakdowns: a dimension of the visitor's entry (step-1) event
const SPLITS = [
  ["", "None"],
  ["variant", "A/B variant"],
  ["channel", "Channel"],
  ["country", "Country"],
  ["device", "Device"],
  ["source", "Source"],
  ["utm_campaign", "UTM campaign"],
];
const COLOURS = ["#5b8def", "#e8684a", "#5ad8a6", "#f6bd16", "#9270ca", "#269a99", "#ff9d4d", "#6dc8ec"];
const pct = (v) => (v === null ? "—" : v + " %");
const dropOff = (r) => (r.pct_of_previous === null ? null : Math.round(10 * (100 - r.pct_of_previous)) / 10);
const BUILT_IN = [
  ["comparison", "Comparison page → chart interaction → affiliate click"],
  ["shop", "Product view → add to cart → purchase"],
];

export const encodeSteps = (steps) => steps.map((s) => `${s.kind}:${s.value}`).join("\n");
export function decodeSteps(text) {
  return (text || "")
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const i = line.indexOf(":");
      return { kind: line.slice(0, i), value: line.slice(i + 1) };
    });
}

function describe(step) {
  if (step.page !== undefined) return `Viewed ${step.page}`;
  if (step.custom !== undefined) return `Custom event ${step.custom}`;
  return { comparison_page: "Comparison page", chart_interaction: "Chart interaction", affiliate_click: "Affiliate click",
    product_view: "Product view", add_to_cart: "Add to cart", purchase: "Purchase" }[step.event] || `Event ${step.event}`;
}

function Builder({ initial }) {
  const [steps, setSteps] = useState(initial.length >= 2 ? initial : [{ kind: "page", value: "/" }, { kind: "event", value: "purchase" }]);
  const set = (i, patch) => setSteps(steps.map((s, j) => (j === i ? { ...s, ...patch } : s)));
  const submit = (e) => {
    e.preventDefault();
    setParams({ funnel: null, steps: encodeSteps(steps.filter((s) => s.value.trim())) });
  };
  return html`<form class="builder" onSubmit=${submit} aria-label="Funnel builder">
    <ol>
      ${steps.map(
        (s, i) => html`<li>
          <label class="field"><span>Step ${i + 1} kind</span>
            <select value=${s.kind} onChange=${(e) => set(i, { kind: e.currentTarget.value })}>
              ${KINDS.map(([k, t]) => html`<option value=${k}>${t}</option>`)}
            </select></label>
          <label class="field"><span>Step ${i + 1} value</span>
            <input value=${s.value} required onInput=${(e) => set(i, { value: e.currentTarget.value })} /></label>
          ${steps.length > 2 && html`<button type="button" class="ghost" onClick=${() => setSteps(steps.filter((_, j) => j !== i))}>Remove<span class="sr-only"> step ${i + 1}</span></button>`}
        </li>`
      )}
    </ol>
    <div class="row-controls">
      ${steps.length < 10 && html`<button type="button" class="ghost" onClick=${() => setSteps([...steps, { kind: "page", value: "" }])}>Add a step</button>`}
      <button type="submit">Show this funnel</button>
    </div>
  </form>`;
}

function Controls({ order, split }) {
  return html`<div class="row-controls">
    <label class="field"><span>Order</span>
      <select value=${order} onChange=${(e) => setParams({ order: e.currentTarget.value === "sequence" ? null : e.currentTarget.value })}>
        ${ORDERS.map(([k, t]) => html`<option value=${k}>${t}</option>`)}
      </select></label>
    <label class="field"><span>Split by</span>
      <select value=${split} onChange=${(e) => setParams({ split: e.currentTarget.value })}>
        ${SPLITS.map(([k, t]) => html`<option value=${k}>${t}</option>`)}
      </select></label>
  </div>`;
}

function Whole({ results }) {
  const rows = results.map((r) => ({ ...r, name: describe(r.step_definition), drop_off: dropOff(r) }));
  const names = rows.map((r) => `${r.step}. ${r.name}`);
  return html`<${Chart}
      height=${40 + 44 * rows.length}
      summary=${rows.map((r) => `${r.name}: ${r.visitors} visitors`).join("; ")}
      option=${{
        tooltip: { trigger: "axis" },
        grid: { left: 130, right: 40, top: 8, bottom: 24 },
        yAxis: { type: "category", data: names, inverse: true, axisLabel: { overflow: "break", width: 120 } },
        xAxis: { type: "value", minInterval: 1 },
        series: [{ type: "bar", data: rows.map((r) => r.visitors), label: { show: true, position: "right" }, itemStyle: { color: COLOURS[0] } }],
      }}
    />
    <div class="table-wrap"><table>
      <caption class="sr-only">Visitors per funnel step</caption>
      <thead><tr><th scope="col">Step</th><th scope="col" class="num">Visitors</th><th scope="col" class="num">Of step 1</th>
        <th scope="col" class="num">Of the step before</th><th scope="col" class="num">Drop-off</th></tr></thead>
      <tbody>${rows.map(
        (r) => html`<tr data-step=${r.step}><th scope="row">${r.step}. ${r.name}</th><td class="num">${r.visitors}</td>
          <td class="num">${pct(r.pct_of_first)}</td><td class="num">${pct(r.pct_of_previous)}</td><td class="num">${pct(r.drop_off)}</td></tr>`
      )}</tbody>
    </table></div>`;
}

// One group's rows per step, the groups in the API's order (most visitors at step 1 first).
function Split({ results, label }) {
  const groups = [];
  for (const r of results) {
    let g = groups.find((x) => x.name === r.group);
    if (!g) groups.push((g = { name: r.group, rows: [] }));
    g.rows.push({ ...r, name: describe(r.step_definition), drop_off: dropOff(r) });
  }
  if (!groups.length) return html`<p class="status">No visitor reached step 1 in these days: there is nothing to split.</p>`;
  const names = groups[0].rows.map((r) => `${r.step}. ${r.name}`);
  return html`<${Chart}
      height=${80 + 28 * names.length * Math.min(groups.length, 6)}
      summary=${groups.map((g) => `${label} ${g.name}: ${g.rows.map((r) => r.visitors).join(" → ")} visitors`).join("; ")}
      option=${{
        tooltip: { trigger: "axis" },
        legend: { top: 0, type: "scroll" },
        grid: { left: 130, right: 40, top: 32, bottom: 24 },
        yAxis: { type: "category", data: names, inverse: true, axisLabel: { overflow: "break", width: 120 } },
        xAxis: { type: "value", minInterval: 1 },
        series: groups.map((g, i) => ({
          type: "bar",
          name: g.name,
          data: g.rows.map((r) => r.visitors),
          label: { show: true, position: "right" },
          itemStyle: { color: COLOURS[i % COLOURS.length] },
        })),
      }}
    />
    <div class="table-wrap"><table>
      <caption class="sr-only">Visitors per funnel step, split by ${label}</caption>
      <thead><tr><th scope="col">${label}</th><th scope="col">Step</th><th scope="col" class="num">Visitors</th><th scope="col" class="num">Of step 1</th>
        <th scope="col" class="num">Of the step before</th><th scope="col" class="num">Drop-off</th></tr></thead>
      <tbody>${groups.map((g) =>
        g.rows.map(
          (r) => html`<tr data-group=${g.name} data-step=${r.step}><th scope="row">${g.name}</th><td>${r.step}. ${r.name}</td>
            <td class="num">${r.visitors}</td><td class="num">${pct(r.pct_of_first)}</td><td class="num">${pct(r.pct_of_previous)}</td>
            <td class="num">${pct(r.drop_off)}</td></tr>`
        )
      )}</tbody>
    </table></div>`;
}

export function Funnels() {
  const view = currentView();
  const stepsParam = param("steps");
  const funnel = stepsParam ? null : param("funnel") || "comparison";
  const custom = decodeSteps(stepsParam);
  const order = ORDERS.some(([k]) => k === param("order")) ? param("order") : "sequence";
  const split = SPLITS.some(([k]) => k && k === param("split")) ? param("split") : "";
  const body = { site_ids: view.siteIds, date_range: view.dateRange };
  if (funnel) body.funnel = funnel;
  else body.steps = custom.map((s) => ({ [s.kind]: s.value }));
  if (order !== "sequence") body.order = order;
  if (split) body.breakdown = split;
  const res = useAsync(() => api.funnel(body), JSON.stringify(body));
  const data = res.data;
  const label = split ? SPLITS.find(([k]) => k === split)[1] : "";
  let inner;
  if (res.loading && !data) inner = html`<${Loading} what="the funnel" />`;
  else if (res.error) inner = html`<${Failure} error=${res.error} />`;
  else if (split && data.meta.breakdown === split) inner = html`<${Split} results=${data.results} label=${label} />`;
  else if (split || data.meta.breakdown) inner = html`<${Loading} what="the funnel" />`; // the answer before the change
  else inner = html`<${Whole} results=${data.results} />`;
  const columns = ["step", "step_definition", "visitors", "pct_of_first", "pct_of_previous"];
  const csvRows = data ? data.results.map((r) => ({ ...r, step_definition: describe(r.step_definition) })) : [];
  return html`<div class="row-controls" role="group" aria-label="Funnel">
      ${BUILT_IN.map(
        ([name, text]) => html`<button type="button" class=${funnel === name ? "" : "ghost"} aria-pressed=${funnel === name}
          onClick=${() => setParams({ funnel: name, steps: null })}>${text}</button>`
      )}
    </div>
    <${Controls} order=${order} split=${split} />
    <${Tile} title=${(funnel ? `Built-in funnel: ${funnel}` : "Your funnel") + (split ? ` per ${label}` : "")}
      wide id="funnel" sql=${data && data.meta.sql}
      csv=${data && { name: "funnel.csv", columns: data.meta.breakdown ? ["group", ...columns] : columns, rows: csvRows }}>
      ${inner}
    <//>
    <${Tile} title="Build a funnel" wide id="builder"><${Builder} initial=${custom} /><//>`;
}
