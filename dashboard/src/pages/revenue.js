// Revenue: e-commerce (revenue, orders and average order value per day; top products), affiliate
// payouts by link, target or campaign, and attribution of conversions by first or last touch.
// The tiles' choices are in the URL: affiliates=, model=, by=.
import { param, setParams } from "../state.js";
import { html, Table } from "../ui.js";
import { Chart } from "../chart.js";
import { currentView } from "../view.js";
import { useReport, ReportTile, Choice } from "../report.js";
import { RecommendationClicks } from "./recommendations.js";

function Sales({ view }) {
  const res = useReport("ecommerce", view, { view: "revenue" });
  return html`<${ReportTile} title="Revenue over time" id="sales" wide res=${res} what="the revenue" csvName="revenue-per-day.csv"
    render=${(data) => {
      const rows = data.results;
      const total = rows.reduce((a, r) => a + r.revenue, 0);
      const orders = rows.reduce((a, r) => a + r.orders, 0);
      return html`<${Chart}
          summary=${`Revenue, orders and average order value per day, ${rows.length} days from ${rows[0].day} to ${rows[rows.length - 1].day}`}
          option=${{
            tooltip: { trigger: "axis" },
            legend: { bottom: 0 },
            grid: { left: 56, right: 48, top: 16, bottom: 40 },
            xAxis: { type: "category", data: rows.map((r) => String(r.day)) },
            yAxis: [{ type: "value", name: "revenue" }, { type: "value", name: "orders", minInterval: 1 }],
            series: [
              { name: "Revenue", type: "bar", data: rows.map((r) => r.revenue), itemStyle: { color: "#5b8def" } },
              { name: "Average order value", type: "line", data: rows.map((r) => r.aov), connectNulls: false },
              { name: "Orders", type: "line", yAxisIndex: 1, data: rows.map((r) => r.orders), lineStyle: { type: "dashed" } },
            ],
          }}
        />
        <p class="totals" data-totals>Revenue <strong data-revenue=${total}>${money(total)}</strong> from <strong data-orders=${orders}>${orders}</strong> orders${orders ? html`, on average <strong>${money(total / orders)}</strong>` : ""}.</p>`;
    }} />`;
}

const money = (v) => v.toLocaleString("en", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

function Products({ view }) {
  const res = useReport("ecommerce", view, { view: "products", limit: 20 });
  return html`<${ReportTile} title="Top products" id="products" wide res=${res} what="the products" csvName="products.csv"
    empty="No product viewed or sold in this range."
    render=${(data) => html`<${Table} caption="Products by revenue" rows=${data.results.map((r) => ({ ...r, product: r.name ? `${r.name} (${r.product_id})` : r.product_id }))} bar="revenue"
      columns=${["product", "views", "carts", "purchases", "quantity", "revenue", "view_to_purchase"]} />`} />`;
}

const AFFILIATE_BY = [["link", "Link"], ["target", "Target"], ["campaign", "Campaign"]];

function Affiliates({ view }) {
  const by = AFFILIATE_BY.some(([v]) => v === param("affiliates")) ? param("affiliates") : "link";
  const res = useReport("affiliates", view, { by, limit: 50 });
  const controls = html`<${Choice} label="Affiliate clicks by" value=${by} choices=${AFFILIATE_BY}
    onChoose=${(v) => setParams({ affiliates: v === "link" ? null : v })} />`;
  return html`<${ReportTile} title="Affiliate revenue" id="affiliates" wide res=${res} what="the affiliate clicks" csvName=${`affiliates-by-${by}.csv`}
    empty="No affiliate click in this range." controls=${controls}
    render=${(data) => html`<${Table} caption=${`Affiliate payout by ${by}`} rows=${data.results} bar="payout"
      columns=${[by, "clicks", "visitors", "payout", "share_of_payout"]} />`} />`;
}

const MODELS = [["last", "Last touch"], ["first", "First touch"]];
const TOUCH_BY = [["source", "Source"], ["channel", "Channel"], ["utm_campaign", "Campaign"]];

function Attribution({ view }) {
  const model = param("model") === "first" ? "first" : "last";
  const by = TOUCH_BY.some(([v]) => v === param("by")) ? param("by") : "source";
  const res = useReport("attribution", view, { model, by });
  const controls = html`<${Choice} label="Attribution model" value=${model} choices=${MODELS}
      onChoose=${(v) => setParams({ model: v === "last" ? null : v })} />
    <${Choice} label="Touches by" value=${by} choices=${TOUCH_BY} onChoose=${(v) => setParams({ by: v === "source" ? null : v })} />`;
  return html`<${ReportTile} title="Attribution" id="attribution" wide res=${res} what="the attribution" csvName=${`attribution-${model}-${by}.csv`}
    empty="No order or affiliate click in this range." controls=${controls}
    render=${(data) => html`<${Table} caption=${`Conversions by ${model} touch, by ${by}`} rows=${data.results} bar="conversions"
      columns=${[by, "conversions", "orders", "revenue", "affiliate_clicks", "affiliate_payout", "share"]} />`} />`;
}

export function Revenue() {
  const view = currentView();
  return html`<div class="grid">
    <${Sales} view=${view} />
    <${Products} view=${view} />
    <${Affiliates} view=${view} />
    <${Attribution} view=${view} />
    <${RecommendationClicks} view=${view} />
  </div>`;
}
