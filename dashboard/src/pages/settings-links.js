// A site's tracked links and QR codes, and its alert rules.
import { useState } from "preact/hooks";
import { rest } from "../api.js";
import { html, Tile } from "../ui.js";
import { useResource, pending, Form, RowAction, Rows, when } from "../forms.js";

const site_ = (site) => `/api/sites/${encodeURIComponent(site.site_id)}`;

function Qr({ link }) {
  const [shown, setShown] = useState(false);
  if (!shown)
    return html`<button type="button" class="ghost small" aria-expanded="false" onClick=${() => setShown(true)}>
      QR code<span class="sr-only"> of ${link.link_id}</span></button>`;
  return html`<figure class="qr">
    <img src=${link.qr_path} width="128" height="128" alt=${`QR code of ${location.origin + link.path}, which leads to ${link.target}`} />
    <figcaption><a href=${link.qr_path} download=${link.link_id + ".svg"}>Download the SVG<span class="sr-only"> of ${link.link_id}</span></a></figcaption>
  </figure>`;
}

export function Links({ site, manage }) {
  const res = useResource(`${site_(site)}/links`);
  const create = async (form) => {
    const body = { target: String(form.get("target")).trim(), kind: form.get("kind") };
    const payout = String(form.get("payout_cents")).trim();
    if (payout) body.payout_cents = Number(payout);
    const made = await rest.post(`${site_(site)}/links`, body);
    res.reload();
    return `Created ${location.origin + made.path}.`;
  };
  return html`<${Tile} title="Links and QR codes" wide id="links">
    <p class="hint">A tracked link records a click (or a scan) and sends the visitor on to its target.</p>
    ${pending(res, "the links") ||
    html`<${Rows} caption="Tracked links of the site" empty="No link yet." rows=${res.data.links} columns=${[
      ["Link", (l) => html`<code>${l.path}</code>`],
      ["Kind", (l) => l.kind],
      ["Target", (l) => html`<span class="break">${l.target}</span>`],
      ["Payout", (l) => (l.payout_cents === null || l.payout_cents === undefined ? "—" : (l.payout_cents / 100).toFixed(2))],
      ["Created", (l) => when(l.created_ts)],
      ["QR code", (l) => html`<${Qr} link=${l} />`],
    ]} />`}
    ${manage &&
    html`<${Form} label="Create a link" submit="Create the link" action=${create}>
      <div class="form-grid">
        <label class="field wide"><span>Target URL</span><input name="target" type="url" required placeholder="https://" /></label>
        <label class="field"><span>Kind</span>
          <select name="kind"><option value="affiliate">affiliate link</option><option value="qr">QR code</option></select></label>
        <label class="field"><span>Payout per click, cents (optional)</span><input name="payout_cents" type="number" min="0" step="1" /></label>
      </div>
    <//>`}
  <//>`;
}

export function Alerts({ site }) {
  const res = useResource("/api/alerts");
  const create = async (form) => {
    const body = { kind: form.get("kind"), channel: form.get("channel"), target: String(form.get("target")).trim(), site_id: site.site_id };
    for (const k of ["threshold", "minutes"]) {
      const v = String(form.get(k)).trim();
      if (v) body[k] = Number(v);
    }
    await rest.post("/api/alerts", body);
    res.reload();
    return "The rule is in place.";
  };
  const wait = pending(res, "the alert rules");
  if (wait) return html`<${Tile} title="Alert rules" wide id="alerts">${wait}<//>`;
  const rules = res.data.rules.filter((r) => r.site_id === site.site_id || r.site_id === null);
  return html`<${Tile} title="Alert rules" wide id="alerts">
    <p class="hint">A rule sends one notice when it fires and one when it recovers. Rules for every site are listed too.</p>
    <${Rows} caption="Alert rules of the site" empty="No alert rule." rows=${rules} columns=${[
      ["Rule", (r) => r.description],
      ["Site", (r) => (r.site_id ? "this site" : "every site")],
      ["Sent by", (r) => `${r.channel} to ${r.target}`],
      ["Now", (r) => (r.firing.length ? "firing" : "quiet")],
      ["Actions", (r) => html`<${RowAction} label="Delete" what=${"the rule " + r.description}
        action=${async () => { await rest.del(`/api/alerts/${encodeURIComponent(r.rule_id)}`); res.reload(); }} />`],
    ]} />
    <${Form} label="Create an alert rule" submit="Create the rule" action=${create}>
      <div class="form-grid">
        <label class="field wide"><span>When</span>
          <select name="kind">${res.data.kinds.map((k) => html`<option value=${k.kind}>${k.kind}: ${k.description}</option>`)}</select></label>
        <label class="field"><span>Threshold (optional)</span><input name="threshold" type="number" step="any" /></label>
        <label class="field"><span>Minutes (optional)</span><input name="minutes" type="number" min="1" step="any" /></label>
        <label class="field"><span>Send by</span>
          <select name="channel">${res.data.channels.map((c) => html`<option value=${c}>${c}</option>`)}</select></label>
        <label class="field wide"><span>To (a URL, or an e-mail address)</span><input name="target" required /></label>
      </div>
    <//>
  <//>`;
}
