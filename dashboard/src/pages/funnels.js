// Funnels: the built-in funnels (comparison, shop) and a builder of any steps; visitors,
// conversion and drop-off per step. The funnel lives in the URL (funnel=shop or steps=...).
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

export function Funnels() {
  const view = currentView();
  const stepsParam = param("steps");
  const funnel = stepsParam ? null : param("funnel") || "comparison";
  const custom = decodeSteps(stepsParam);
  const body = { site_ids: view.siteIds, date_range: view.dateRange };
  if (funnel) body.funnel = funnel;
  else body.steps = custom.map((s) => ({ [s.kind]: s.value }));
  const res = useAsync(() => api.funnel(body), JSON.stringify(body));
  const data = res.data;
  let inner;
  if (res.loading && !data) inner = html`<${Loading} what="the funnel" />`;
  else if (res.error) inner = html`<${Failure} error=${res.error} />`;
  else {
    const rows = data.results.map((r) => ({
      step: r.step,
      name: describe(r.step_definition),
      visitors: r.visitors,
      pct_of_first: r.pct_of_first,
      pct_of_previous: r.pct_of_previous,
      drop_off: r.pct_of_previous === null ? null : Math.round(10 * (100 - r.pct_of_previous)) / 10,
    }));
    const names = rows.map((r) => `${r.step}. ${r.name}`);
    inner = html`<${Chart}
        height=${40 + 44 * rows.length}
        summary=${rows.map((r) => `${r.name}: ${r.visitors} visitors`).join("; ")}
        option=${{
          tooltip: { trigger: "axis" },
          grid: { left: 130, right: 40, top: 8, bottom: 24 },
          yAxis: { type: "category", data: names, inverse: true, axisLabel: { overflow: "break", width: 120 } },
          xAxis: { type: "value", minInterval: 1 },
          series: [{ type: "bar", data: rows.map((r) => r.visitors), label: { show: true, position: "right" }, itemStyle: { color: "#5b8def" } }],
        }}
      />
      <div class="table-wrap"><table>
        <caption class="sr-only">Visitors per funnel step</caption>
        <thead><tr><th scope="col">Step</th><th scope="col" class="num">Visitors</th><th scope="col" class="num">Of step 1</th>
          <th scope="col" class="num">Of the step before</th><th scope="col" class="num">Drop-off</th></tr></thead>
        <tbody>${rows.map(
          (r) => html`<tr data-step=${r.step}><th scope="row">${r.step}. ${r.name}</th><td class="num">${r.visitors}</td>
            <td class="num">${r.pct_of_first === null ? "—" : r.pct_of_first + " %"}</td>
            <td class="num">${r.pct_of_previous === null ? "—" : r.pct_of_previous + " %"}</td>
            <td class="num">${r.drop_off === null ? "—" : r.drop_off + " %"}</td></tr>`
        )}</tbody>
      </table></div>`;
  }
  const csvRows = data ? data.results.map((r) => ({ ...r, step_definition: describe(r.step_definition) })) : [];
  return html`<div class="row-controls" role="group" aria-label="Funnel">
      ${BUILT_IN.map(
        ([name, text]) => html`<button type="button" class=${funnel === name ? "" : "ghost"} aria-pressed=${funnel === name}
          onClick=${() => setParams({ funnel: name, steps: null })}>${text}</button>`
      )}
    </div>
    <${Tile} title=${funnel ? `Built-in funnel: ${funnel}` : "Your funnel"} wide id="funnel" sql=${data && data.meta.sql}
      csv=${data && { name: "funnel.csv", columns: ["step", "step_definition", "visitors", "pct_of_first", "pct_of_previous"], rows: csvRows }}>
      ${inner}
    <//>
    <${Tile} title="Build a funnel" wide id="builder"><${Builder} initial=${custom} /><//>`;
}
