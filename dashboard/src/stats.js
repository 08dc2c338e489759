// Which side of the lake each metric and dimension lives on, as in clicklake.query.stats:
// "s" is silver.sessions (visits), "e" is silver.events. A filter on a dimension that one
// side lacks cannot apply to that side's metrics; those are left out and said so.
const SESSION_METRICS = new Set([
  "visitors", "visits", "bounce_rate", "visit_duration", "views_per_visit", "conversions", "conversion_rate",
]);
const SESSION_ONLY = new Set(["entry_page", "exit_page", "channel"]);
const EVENT_ONLY = new Set(["page", "event_type", "event_name", "link", "product"]);

export const sideOf = (metric) => (SESSION_METRICS.has(metric) ? "s" : "e");

export function dimensionApplies(dimension, side) {
  if (side === "s") return !EVENT_ONLY.has(dimension);
  return !SESSION_ONLY.has(dimension);
}

export const LABELS = {
  visitors: "Visitors",
  visits: "Visits",
  pageviews: "Pageviews",
  views_per_visit: "Views per visit",
  bounce_rate: "Bounce rate",
  visit_duration: "Visit duration",
  events: "Events",
  conversions: "Conversions",
  conversion_rate: "Conversion rate",
  revenue: "Revenue",
  orders: "Orders",
  aov: "Average order value",
  page: "Page",
  entry_page: "Entry page",
  exit_page: "Exit page",
  source: "Source",
  referrer: "Referrer",
  channel: "Channel",
  utm_source: "UTM source",
  utm_medium: "UTM medium",
  utm_campaign: "UTM campaign",
  utm_term: "UTM term",
  utm_content: "UTM content",
  country: "Country",
  device: "Device",
  browser: "Browser",
  os: "Operating system",
  event_name: "Event name",
  event_type: "Event type",
  variant: "Variant",
  // the reports' columns
  journey: "Journey",
  share: "Share",
  product: "Product",
  carts: "Carts",
  purchases: "Purchases",
  quantity: "Quantity",
  view_to_purchase: "View to purchase",
  views: "Views",
  link: "Link",
  target: "Target",
  campaign: "Campaign",
  clicks: "Clicks",
  payout: "Payout",
  share_of_payout: "Share of payout",
  affiliate_clicks: "Affiliate clicks",
  affiliate_payout: "Affiliate payout",
  restaurant: "Restaurant",
  table: "Table",
  scans: "Scans",
};

const PERCENT = new Set(["bounce_rate", "conversion_rate", "share", "share_of_payout", "view_to_purchase", "pct"]);
const MONEY = new Set(["revenue", "payout", "affiliate_payout", "aov"]);

export const label = (k) => LABELS[k] || k;

// The Stats API body for `metrics` by `dimensions` under the view's filters: the metrics
// whose side the filters cannot apply to are returned in `dropped`.
export function statsBody(view, metrics, dimensions = [], extra = {}) {
  const kept = [];
  const dropped = [];
  for (const m of metrics) {
    const side = sideOf(m);
    const ok = view.filters.every(([, d]) => dimensionApplies(d, side)) && dimensions.every((d) => dimensionApplies(d, side));
    (ok ? kept : dropped).push(m);
  }
  const body = {
    site_ids: view.siteIds,
    metrics: kept,
    dimensions,
    filters: view.filters,
    date_range: view.dateRange,
    ...extra,
  };
  return { body: kept.length ? body : null, dropped };
}

export function formatValue(metric, v) {
  if (v === null || v === undefined) return "—";
  if (PERCENT.has(metric)) return `${v} %`;
  if (MONEY.has(metric) && typeof v === "number")
    return v.toLocaleString("en", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  if (metric === "visit_duration") {
    const s = Math.round(v);
    return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
  }
  if (typeof v === "number") return v.toLocaleString("en");
  return String(v);
}
