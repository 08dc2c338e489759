// The empty state: a site with no event at all gets the snippet to paste instead of zeros.
import { api } from "../api.js";
import { html, useAsync } from "../ui.js";
import { share } from "../state.js";
import { iso } from "../dates.js";

export function EmptySite({ view }) {
  const today = iso(new Date(Date.now() + 86400000));
  const body = { site_ids: view.siteIds, metrics: ["events"], date_range: ["2000-01-01", today] };
  const res = useAsync(() => (view.siteIds.length ? api.query(body) : null), view.siteIds.join(","));
  if (!res.data || (res.data.results[0] && res.data.results[0].events > 0)) return null;
  if (share)
    return html`<section class="empty" aria-labelledby="empty-title"><h2 id="empty-title">No events yet</h2>
      <p>This site has recorded no event so far.</p></section>`;
  const snippet = `<script defer src="${location.origin}/sdk.js" data-key="wk_..."></script>`;
  return html`<section class="empty" aria-labelledby="empty-title">
    <h2 id="empty-title">No events yet</h2>
    <p>Paste this tag into the <code>${"<head>"}</code> of every page of the site, with the site's write key
      in <code>data-key</code> (<code>clicklake sites show SITE_ID</code> prints it):</p>
    <pre class="snippet"><code>${snippet}</code></pre>
    <p>Events show here within a minute of their arrival. See docs/sdk.md for consent, custom events and the ES module.</p>
  </section>`;
}
