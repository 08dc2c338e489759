// Live: the realtime stage's windows of one site (GET /api/live), kept up to date by its
// Server-Sent Events; the stream closes when the page is left or the site changes.
import { useEffect, useState } from "preact/hooks";
import { rest } from "../api.js";
import { html, Tile, Table, Loading, Failure, countryName } from "../ui.js";
import { Chart } from "../chart.js";
import { siteChoice, sites } from "../state.js";

// The one site a page about a single site shows ("All sites" is its first).
export function oneSite() {
  const chosen = siteChoice.value;
  if (chosen && chosen !== "all") return chosen;
  return sites.value.length ? sites.value[0].site_id : null;
}

function money(minor, currencies) {
  const amount = (minor / 100).toFixed(2);
  return currencies && currencies.length === 1 ? `${amount} ${currencies[0]}` : amount;
}

const CONNECTION = {
  connecting: "Connecting to the live stream…",
  open: "Live: the figures update as events arrive.",
  retrying: "The live stream was interrupted; reconnecting…",
};

export function Live() {
  const site = oneSite();
  const [state, setState] = useState({ data: null, error: null, connection: "connecting" });
  useEffect(() => {
    if (!site) return undefined;
    let open = true;
    setState({ data: null, error: null, connection: "connecting" });
    const q = "/api/live?" + new URLSearchParams({ site });
    let stream = null;
    // the JSON answer first (a refusal, or no realtime stage, is said in words), then the stream
    rest.get(q).then(
      (data) => {
        if (!open) return;
        setState((s) => ({ ...s, data: s.data || data }));
        stream = new EventSource(q);
        stream.addEventListener("live", (e) => {
          if (open) setState({ data: JSON.parse(e.data), error: null, connection: "open" });
        });
        stream.onerror = () => open && setState((s) => ({ ...s, connection: "retrying" }));
      },
      (error) => open && setState((s) => ({ ...s, error }))
    );
    return () => {
      open = false;
      if (stream) stream.close();
    };
  }, [site]);
  if (!site) return html`<p class="status">You may read no site yet: ask an admin to add you to one.</p>`;
  const { data, error, connection } = state;
  if (error && !data) return html`<${Failure} error=${error} />`;
  if (!data) return html`<${Loading} what="the live figures" />`;
  const minutes = data.per_minute.map((m) => m.minute.slice(11, 16));
  return html`<p class="hint live-state" role="status" data-connection=${connection}>${CONNECTION[connection]}</p>
    <div class="kpis">
      <div class="kpi" data-metric="current_visitors"><h2>Visitors now</h2><p class="value" aria-live="polite">${data.current_visitors}</p>
        <p class="delta">in the last 5 minutes</p></div>
      <div class="kpi" data-metric="events"><h2>Events</h2><p class="value">${data.events}</p><p class="delta">last 30 minutes</p></div>
      <div class="kpi" data-metric="pageviews"><h2>Pageviews</h2><p class="value">${data.pageviews}</p><p class="delta">last 30 minutes</p></div>
      <div class="kpi" data-metric="conversions"><h2>Conversions</h2><p class="value">${data.conversions}</p><p class="delta">orders, last 30 minutes</p></div>
      <div class="kpi" data-metric="revenue"><h2>Revenue</h2><p class="value">${money(data.revenue_minor, data.currencies)}</p><p class="delta">last 30 minutes</p></div>
    </div>
    <${Tile} title="Events per minute" wide id="per-minute"
      csv=${{ name: "live-per-minute.csv", columns: ["minute", "events", "pageviews"], rows: data.per_minute }}>
      <${Chart}
        summary=${`Over the last 30 minutes, ${data.events} events and ${data.pageviews} pageviews; this minute ${data.per_minute[data.per_minute.length - 1].events} events.`}
        option=${{
          tooltip: { trigger: "axis" },
          legend: { top: 0 },
          grid: { left: 40, right: 16, top: 32, bottom: 24 },
          xAxis: { type: "category", data: minutes },
          yAxis: { type: "value", minInterval: 1 },
          series: [
            { name: "Events", type: "bar", data: data.per_minute.map((m) => m.events), itemStyle: { color: "#5b8def" } },
            { name: "Pageviews", type: "line", data: data.per_minute.map((m) => m.pageviews), itemStyle: { color: "#e8833a" } },
          ],
        }}
      />
    <//>
    <div class="grid">
      <${Tile} title="Top pages now" id="live-pages"
        csv=${{ name: "live-pages.csv", columns: ["page", "pageviews"], rows: data.top_pages }}>
        <${Table} caption="Pages with the most pageviews in the last 30 minutes" columns=${["page", "pageviews"]} rows=${data.top_pages} bar="pageviews" />
      <//>
      <${Tile} title="Top sources now" id="live-sources"
        csv=${{ name: "live-sources.csv", columns: ["source", "visitors"], rows: data.top_sources }}>
        <${Table} caption="Sources with the most visitors in the last 30 minutes" columns=${["source", "visitors"]} rows=${data.top_sources} bar="visitors" />
      <//>
      <${Tile} title="Top countries now" id="live-countries"
        csv=${{ name: "live-countries.csv", columns: ["country", "visitors"], rows: data.top_countries }}>
        <${Table} caption="Countries with the most visitors in the last 30 minutes" columns=${["country", "visitors"]} rows=${data.top_countries}
          bar="visitors" show=${(c) => (c === "(none)" ? c : countryName(c))} />
      <//>
    </div>`;
}
