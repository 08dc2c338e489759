// Menus & QR: scans of the restaurants' QR codes per restaurant (a site), per table (the code's
// placement, ?at= on its URL) and per hour of the day (UTC).
import { html, Table } from "../ui.js";
import { Chart } from "../chart.js";
import { currentView } from "../view.js";
import { useReport, ReportTile } from "../report.js";

function Restaurants({ view }) {
  const res = useReport("menus", view, { by: "restaurant" });
  return html`<${ReportTile} title="Scans per restaurant" id="restaurants" res=${res} what="the scans" csvName="scans-per-restaurant.csv"
    empty="No QR scan in this range."
    render=${(data) => html`<${Table} caption="QR scans per restaurant" bar="scans"
      rows=${data.results.map((r) => ({ ...r, restaurant: r.restaurant || r.site_id }))} columns=${["restaurant", "scans", "visitors"]} />`} />`;
}

function Tables({ view }) {
  const res = useReport("menus", view, { by: "table" });
  return html`<${ReportTile} title="Scans per table" id="tables" res=${res} what="the scans" csvName="scans-per-table.csv"
    empty="No QR scan in this range."
    render=${(data) => html`<${Table} caption="QR scans per table" bar="scans" rows=${data.results} columns=${["table", "scans", "visitors"]} />`} />`;
}

function Hours({ view }) {
  const res = useReport("menus", view, { by: "hour" });
  return html`<${ReportTile} title="Scans per hour of the day" id="hours" wide res=${res} what="the scans" csvName="scans-per-hour.csv"
    render=${(data) => {
      // every hour is listed per site: added up over the sites asked for
      const scans = Array(24).fill(0);
      for (const r of data.results) scans[r.hour] += r.scans;
      const total = scans.reduce((a, b) => a + b, 0);
      if (!total) return html`<p class="status">No QR scan in this range.</p>`;
      const busiest = scans.indexOf(Math.max(...scans));
      return html`<${Chart}
        summary=${`QR scans per hour of the day (UTC), ${total} in all, the most at ${busiest}:00 (${scans[busiest]})`}
        option=${{
          tooltip: { trigger: "axis" },
          grid: { left: 40, right: 16, top: 16, bottom: 24 },
          xAxis: { type: "category", data: scans.map((_, h) => `${h}:00`) },
          yAxis: { type: "value", minInterval: 1 },
          series: [{ name: "Scans", type: "bar", data: scans, itemStyle: { color: "#5b8def" } }],
        }} />
        <p class="sr-only" data-hours=${JSON.stringify(scans)}>Scans per hour: ${scans.map((n, h) => `${h}:00 ${n}`).join(", ")}</p>`;
    }} />`;
}

export function Menus() {
  const view = currentView();
  return html`<p class="intro">A restaurant is a site; a table is where its QR code is placed (<code>?at=</code> on the printed code's URL). Hours are UTC.</p>
    <div class="grid">
      <${Restaurants} view=${view} />
      <${Tables} view=${view} />
      <${Hours} view=${view} />
    </div>`;
}
