// The empty state: a site with no event at all gets the snippet to paste instead of zeros, and a
// button that sends one test event through the collector and says when it arrived.
import { useState } from "preact/hooks";
import { api, rest } from "../api.js";
import { html, useAsync } from "../ui.js";
import { share, me } from "../state.js";
import { iso } from "../dates.js";

const MANAGERS = ["owner", "admin"];
const WAIT_MS = 20_000;
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

// Send the test event (web/first_event.py), then watch the live counters (/api/live) for its page.
async function sendTestEvent(siteId, say) {
  const site = encodeURIComponent(siteId);
  say({ busy: true, text: "Sending a test event to the collector…" });
  const sent = await rest.post(`/api/sites/${site}/test-event`);
  if (!sent.accepted) {
    const why = sent.consent_denied
      ? "it was dropped for want of consent: this browser sends Do Not Track or Global Privacy Control, which the site honours"
      : sent.rejected.join("; ") || "the collector did not accept it";
    throw new Error(`The test event was not stored: ${why}.`);
  }
  say({ busy: true, text: "The collector accepted the test event; waiting for it in the live figures…" });
  const until = Date.now() + WAIT_MS;
  while (Date.now() < until) {
    let live;
    try {
      live = await rest.get(`/api/live?site=${site}`);
    } catch (e) {
      // no realtime stage here: the collector's answer is all there is to tell
      return `The collector accepted the test event (${e.message}). It shows in the figures once the loader has written it to the lake.`;
    }
    if (live.top_pages.some((p) => p.page === sent.page))
      return `It arrived: the live figures show a page view of ${sent.page} (Live page). The overview's figures show it once the loader has written it to the lake, within a minute or two.`;
    await sleep(500);
  }
  return `The collector accepted the test event, but the live figures have not shown it within ${WAIT_MS / 1000} s: is the realtime stage running?`;
}

function TestEvent({ siteId }) {
  const [state, setState] = useState({ busy: false, text: null, error: null, done: false });
  const run = async () => {
    try {
      const text = await sendTestEvent(siteId, (s) => setState({ error: null, done: false, ...s }));
      setState({ busy: false, text, error: null, done: true });
    } catch (error) {
      setState({ busy: false, text: null, error, done: false });
    }
  };
  return html`<div class="test-event">
    <button type="button" onClick=${run} disabled=${state.busy}>Send a test event</button>
    <p class="status${state.done ? " done" : ""}" role="status" data-test-event=${state.done ? "done" : state.busy ? "busy" : ""}>${state.text || ""}</p>
    ${state.error && html`<p class="status error" role="alert">${state.error.message}</p>`}
  </div>`;
}

export function EmptySite({ view }) {
  const today = iso(new Date(Date.now() + 86400000));
  const body = { site_ids: view.siteIds, metrics: ["events"], date_range: ["2000-01-01", today] };
  const res = useAsync(() => (view.siteIds.length ? api.query(body) : null), view.siteIds.join(","));
  if (!res.data || (res.data.results[0] && res.data.results[0].events > 0)) return null;
  if (share)
    return html`<section class="empty" aria-labelledby="empty-title"><h2 id="empty-title">No events yet</h2>
      <p>This site has recorded no event so far.</p></section>`;
  const snippet = `<script defer src="${location.origin}/sdk.js" data-key="wk_..."></script>`;
  // one site chosen, which the user manages: the button may send it a test event
  const one = view.siteIds.length === 1 ? view.siteIds[0] : null;
  const mine = one && me.value && (me.value.sites || []).find((s) => s.site_id === one);
  const manage = mine && (MANAGERS.includes(mine.role) || me.value.is_admin);
  return html`<section class="empty" aria-labelledby="empty-title">
    <h2 id="empty-title">No events yet</h2>
    <p>Paste this tag into the <code>${"<head>"}</code> of every page of the site, with the site's write key
      in <code>data-key</code> (<code>clicklake sites show SITE_ID</code> prints it, and so does Settings):</p>
    <pre class="snippet"><code>${snippet}</code></pre>
    <p>Events show here within a minute of their arrival. See docs/sdk.md for consent, custom events and the ES module.</p>
    ${manage && html`<p>Or check the way in first: send one page view through the collector.</p><${TestEvent} siteId=${one} />`}
  </section>`;
}
