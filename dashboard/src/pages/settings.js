// Settings of the selected site: its fields, write key and snippet, links and QR codes, members
// (and their roles) and invitations, shared links, alert rules and e-mail reports; privacy requests, retention and storage; and the caller's own API tokens. An owner or
// admin changes them; a viewer reads what the API shows a viewer (no key, no controls).
import { useEffect, useRef, useState } from "preact/hooks";
import { rest } from "../api.js";
import { html, Tile } from "../ui.js";
import { useResource, pending, Form, Secret } from "../forms.js";
import { oneSite } from "./live.js";
import { Members, Shares, Tokens } from "./settings-access.js";
import { Links, Alerts } from "./settings-links.js";
import { EmailReports } from "./settings-reports.js";
import { PrivacyRequests, Retention, Storage } from "./settings-privacy.js";

const MANAGERS = ["owner", "admin"];

function ReadOnlySite({ site }) {
  const rows = [
    ["Name", site.name],
    ["Domain", site.domain],
    ["Allowed origins", site.allowed_origins.length ? site.allowed_origins.join(", ") : "none"],
    ["Time zone", site.timezone],
    ["Rate limit", site.rate_per_s === null ? "the server's default" : site.rate_per_s === 0 ? "none" : `${site.rate_per_s} events/s`],
    ["Do Not Track", site.honor_dnt ? "honoured" : "ignored"],
    ["Global Privacy Control", site.honor_gpc ? "honoured" : "ignored"],
    ["Your role", site.role],
  ];
  return html`<dl class="facts">${rows.map(([k, v]) => html`<div><dt>${k}</dt><dd>${v}</dd></div>`)}</dl>`;
}

function SiteFields({ site, onSaved }) {
  const save = async (form) => {
    const rate = String(form.get("rate_per_s")).trim();
    const body = {
      name: String(form.get("name")).trim(),
      allowed_origins: String(form.get("allowed_origins")).split(/[\s,]+/).filter(Boolean),
      timezone: String(form.get("timezone")).trim(),
      rate_per_s: rate === "" ? null : Number(rate),
      honor_dnt: form.get("honor_dnt") === "on",
      honor_gpc: form.get("honor_gpc") === "on",
    };
    onSaved(await rest.patch(`/api/sites/${encodeURIComponent(site.site_id)}`, body));
    return "Saved.";
  };
  return html`<${Form} label="Site settings" submit="Save" action=${save} reset=${false}>
    <div class="form-grid">
      <label class="field"><span>Name</span><input name="name" required value=${site.name} /></label>
      <label class="field"><span>Domain (fixed)</span><input name="domain" value=${site.domain} readonly /></label>
      <label class="field wide"><span>Allowed origins (one a line; empty: no browser origin)</span>
        <textarea name="allowed_origins" rows="3" value=${site.allowed_origins.join("\n")}></textarea></label>
      <label class="field"><span>Time zone (IANA)</span><input name="timezone" required value=${site.timezone} /></label>
      <label class="field"><span>Rate limit, events/s (empty: the server's; 0: none)</span>
        <input name="rate_per_s" type="number" min="0" step="any" value=${site.rate_per_s === null ? "" : site.rate_per_s} /></label>
      <label class="check"><input type="checkbox" name="honor_dnt" checked=${site.honor_dnt} /><span>Honour Do Not Track</span></label>
      <label class="check"><input type="checkbox" name="honor_gpc" checked=${site.honor_gpc} /><span>Honour Global Privacy Control</span></label>
    </div>
  <//>`;
}

function WriteKey({ site, onRotated }) {
  const [asking, setAsking] = useState(false);
  const confirm = useRef(null);
  useEffect(() => {
    if (asking && confirm.current) confirm.current.focus(); // the keyboard goes where the question is
  }, [asking]);
  const [state, setState] = useState({ busy: false, error: null, done: false });
  const rotate = async () => {
    setState({ busy: true, error: null, done: false });
    try {
      onRotated(await rest.post(`/api/sites/${encodeURIComponent(site.site_id)}/rotate-key`));
      setState({ busy: false, error: null, done: true });
    } catch (error) {
      setState({ busy: false, error, done: false });
    }
    setAsking(false);
  };
  const snippet = `<script defer src="${location.origin}/sdk.js" data-key="${site.write_key}"></script>`;
  return html`<p>Write key: <code class="write-key" data-write-key>${site.write_key}</code></p>
    <p class="hint">Paste this tag into the <code>${"<head>"}</code> of every page of ${site.domain} (see docs/sdk.md for consent, custom events and the ES module):</p>
    <pre class="snippet" data-snippet><code>${snippet}</code></pre>
    ${!asking && html`<button type="button" onClick=${() => setAsking(true)}>Rotate the key…</button>`}
    ${asking &&
    html`<div class="confirm" role="group" aria-label="Rotate the write key">
      <p>The old key stops working within seconds: every page must get the new tag.</p>
      <button type="button" ref=${confirm} disabled=${state.busy} onClick=${rotate}>Rotate now</button>
      <button type="button" class="ghost" onClick=${() => setAsking(false)}>Cancel</button>
    </div>`}
    ${state.done && html`<p class="status done" role="status">A new key is in place; the old one is refused.</p>`}
    ${state.error && html`<p class="status error" role="alert">${state.error.message}</p>`}`;
}

export function Settings() {
  const siteId = oneSite();
  const res = useResource(siteId ? `/api/sites/${encodeURIComponent(siteId)}` : null);
  const [changed, setChanged] = useState(null);
  if (!siteId) return html`<p class="status">You may read no site yet: ask an admin to add you to one.</p>`;
  const wait = pending(res, "the site's settings");
  const site = changed && changed.site_id === siteId ? changed : res.data;
  if (wait && !site) return wait;
  const manage = MANAGERS.includes(site.role);
  return html`<p class="intro">Settings of <strong>${site.name}</strong> (${site.site_id}).
      ${manage ? " You may change them." : " You read them as a viewer: an owner or admin changes them."}</p>
    <div class="grid">
      <${Tile} title="Site" wide id="site">
        ${manage ? html`<${SiteFields} key=${site.site_id} site=${site} onSaved=${setChanged} />` : html`<${ReadOnlySite} site=${site} />`}
      <//>
      ${manage && html`<${Tile} title="Write key and snippet" wide id="write-key"><${WriteKey} site=${site} onRotated=${setChanged} /><//>`}
      <${Links} site=${site} manage=${manage} />
      <${Members} site=${site} manage=${manage} />
      ${manage && html`<${Shares} site=${site} />`}
      ${manage && html`<${Alerts} site=${site} />`}
      ${manage && html`<${EmailReports} site=${site} />`}
      ${manage && html`<${PrivacyRequests} site=${site} />`}
      ${manage && html`<${Retention} site=${site} />`}
      ${manage && html`<${Storage} site=${site} />`}
      <${Tokens} site=${site} />
    </div>`;
}
