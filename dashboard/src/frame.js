// The frame around every page: skip link, navigation, site switcher, date range, comparison, filters.
import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "./api.js";
import {
  me, session, url, share, pagePath, pageHref, sites, siteChoice, period, dateRange, previousRange, comparing, compareHow, filters, setParams, removeFilter, navigate, withParams,
} from "./state.js";
import { PERIODS } from "./dates.js";
import { html, Link, countryName } from "./ui.js";
import { label } from "./stats.js";
import { PAGES } from "./pages/index.js";

function keep(path) {
  // the view's state travels between pages; a page's own keys stay behind
  const p = withParams({});
  for (const k of [...p.keys()]) if (!["site", "period", "from", "to", "compare", "f"].includes(k)) p.delete(k);
  return pageHref(path, p);
}

function SiteSwitcher({ all = true }) {
  const list = sites.value;
  if (!list.length) return html`<p class="status">You may read no site yet: ask an admin to add you to one.</p>`;
  return html`<label class="field">
    <span>Site</span>
    <select value=${all || siteChoice.value !== "all" ? siteChoice.value : list[0].site_id} onChange=${(e) => setParams({ site: e.currentTarget.value })}>
      ${list.map((s) => html`<option value=${s.site_id}>${s.name || s.site_id}</option>`)}
      ${all && list.length > 1 && html`<option value="all">All sites (${list.length})</option>`}
    </select>
  </label>`;
}

// the select's value -> the URL's compare= (absent for the previous period)
const COMPARE_PARAM = { previous_period: null, previous_year: "year", off: "off" };

function DatePicker({ compare }) {
  const [from, to] = dateRange.value;
  const custom = period.value === "custom";
  const choose = (value) => {
    if (value === "custom") setParams({ period: "custom", from, to });
    else setParams({ period: value, from: null, to: null });
  };
  return html`<div class="dates">
    <label class="field">
      <span>Dates</span>
      <select value=${period.value} onChange=${(e) => choose(e.currentTarget.value)}>
        ${PERIODS.map(([v, text]) => html`<option value=${v}>${text}</option>`)}
      </select>
    </label>
    ${custom &&
    html`<label class="field"><span>From</span>
        <input type="date" name="from" value=${from} max=${to} onChange=${(e) => e.currentTarget.value && setParams({ from: e.currentTarget.value })} />
      </label>
      <label class="field"><span>To</span>
        <input type="date" name="to" value=${to} min=${from} onChange=${(e) => e.currentTarget.value && setParams({ to: e.currentTarget.value })} />
      </label>`}
    ${compare &&
    html`<label class="field">
      <span>Compare with</span>
      <select value=${comparing.value ? compareHow.value : "off"} onChange=${(e) => setParams({ compare: COMPARE_PARAM[e.currentTarget.value] })}>
        <option value="previous_period">the previous period</option>
        <option value="previous_year">the same days a year before</option>
        <option value="off">nothing</option>
      </select>
    </label>`}
    <p class="range-line" aria-live="polite"><span class="range">${from} to ${to}</span>${compare && comparing.value &&
      html`<span class="previous">, against ${previousRange.value[0]} to ${previousRange.value[1]}</span>`}</p>
  </div>`;
}

function Filters() {
  const list = filters.value;
  if (!list.length) return null;
  return html`<div class="filters" aria-label="Filters">
    <span>Filtered by</span>
    ${list.map(
      ([op, d, [v]], i) => html`<button type="button" class="chip" onClick=${() => removeFilter(i)}>
        ${label(d)} ${op === "is" ? "is" : op === "is_not" ? "is not" : "contains"} <strong>${d === "country" ? countryName(v) : v}</strong>
        <span aria-hidden="true"> ×</span><span class="sr-only">, remove this filter</span>
      </button>`
    )}
  </div>`;
}

export function Frame({ title, page, children }) {
  const [busy, setBusy] = useState(false);
  const logout = async () => {
    setBusy(true);
    try {
      await api.logout();
    } finally {
      me.value = null;
      session.value += 1;
      navigate("/login");
    }
  };
  const here = pagePath.value;
  const shown_pages = PAGES.filter((p) => !share || p.shared);
  // a new page moves the focus to its heading, as a page load would for a screen reader
  const shown = useRef(here);
  useEffect(() => {
    if (shown.current === here) return;
    shown.current = here;
    const heading = document.querySelector("#main h1");
    if (heading) heading.focus();
  }, [here]);
  return html`<a class="skip" href="#main">Skip to the figures</a>
    <header class="top">
      <div class="brand">clicklake${share && html`<span class="shared-site">: ${share.site_name || share.site_id} (shared, read-only)</span>`}</div>
      <nav aria-label="Pages">
        <ul>
          ${shown_pages.map(
            (p) => html`<li><${Link} href=${keep(p.path)} aria-current=${p.path === here ? "page" : undefined}>${p.title}<//></li>`
          )}
        </ul>
      </nav>
      ${!share &&
      html`<div class="account">
        <span class="who">${me.value.email}</span>
        <button type="button" class="ghost" disabled=${busy} onClick=${logout}>Log out</button>
      </div>`}
    </header>
    <div class="controls">
      ${!share && (!page || page.dates || page.site) && html`<${SiteSwitcher} all=${!page || page.dates} />`}
      ${(!page || page.dates) && html`<${DatePicker} compare=${!page || page.compare} />`}
    </div>
    ${page && page.filters && html`<${Filters} />`}
    <main id="main" tabindex="-1">
      <h1 tabindex="-1">${title}</h1>
      ${children}
    </main>`;
}
