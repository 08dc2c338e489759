// A site's privacy requests (export and erasure of one person, and the receipts), its retention
// in days per layer, and its storage: the Settings tiles of web/privacy.py's routes, for managers.
import { useEffect, useRef, useState } from "preact/hooks";
import { rest } from "../api.js";
import { html, Tile } from "../ui.js";
import { useResource, pending, Form, Rows, when } from "../forms.js";

const site_ = (site) => `/api/sites/${encodeURIComponent(site.site_id)}`;
const count = (n) => Number(n).toLocaleString("en");

function bytes(n) {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = Number(n);
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i += 1;
  }
  return `${i ? v.toFixed(1) : v} ${units[i]}`;
}

function saveJson(name, data) {
  const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// The person named in the form: an e-mail address (hashed by the server as the SDK does) or an id hash.
function person(value) {
  const v = value.trim();
  if (!v) throw new Error("Name the person: their user id hash, or their e-mail address.");
  return v.includes("@") ? { email: v } : { user_id_hash: v };
}

const tables = (rows) =>
  Object.entries(rows).length
    ? Object.entries(rows)
        .map(([t, n]) => `${t}: ${count(n)}`)
        .join(", ")
    : "no row";

export function PrivacyRequests({ site }) {
  const receipts = useResource(`${site_(site)}/erasures`);
  const [who, setWho] = useState("");
  const [asking, setAsking] = useState(false);
  const [state, setState] = useState({ busy: false, error: null, done: null });
  const confirm = useRef(null);
  useEffect(() => {
    if (asking && confirm.current) confirm.current.focus(); // the keyboard goes where the question is
  }, [asking]);
  const run = async (work) => {
    setState({ busy: true, error: null, done: null });
    try {
      setState({ busy: false, error: null, done: await work() });
    } catch (error) {
      setState({ busy: false, error, done: null });
    }
  };
  const exportPerson = () =>
    run(async () => {
      const p = person(who);
      const path = p.email
        ? `${site_(site)}/users/-/export?email=${encodeURIComponent(p.email)}`
        : `${site_(site)}/users/${encodeURIComponent(p.user_id_hash)}/export`;
      const doc = await rest.get(path);
      saveJson(`clicklake-export-${site.site_id}-${doc.user_id_hash.slice(0, 12)}.json`, doc);
      return `Exported ${tables(doc.rows)}.`;
    });
  const ask = () => {
    try {
      person(who);
    } catch (error) {
      setState({ busy: false, error, done: null });
      return;
    }
    setState({ busy: false, error: null, done: null });
    setAsking(true);
  };
  const erase = () =>
    run(async () => {
      setAsking(false);
      const receipt = await rest.post(`${site_(site)}/erasures`, person(who));
      receipts.reload();
      setWho("");
      return `Erased: ${tables(receipt.rows)}.`;
    });
  return html`<${Tile} title="Privacy requests" wide id="privacy">
    <p class="hint">Export everything held about one person (GDPR article 15), or erase them from every table and old file (article 17). Name them by their user id hash or their e-mail address.</p>
    <form class="admin-form" aria-label="Privacy request" onSubmit=${(e) => { e.preventDefault(); exportPerson(); }}>
      <div class="form-grid">
        <label class="field wide"><span>User id hash or e-mail address</span>
          <input name="person" required autocomplete="off" value=${who} onInput=${(e) => setWho(e.currentTarget.value)} /></label>
      </div>
      <div class="form-actions">
        <button type="submit" disabled=${state.busy}>Export</button>
        <button type="button" class="ghost" disabled=${state.busy || asking} onClick=${ask}>Erase…</button>
      </div>
      ${asking &&
      html`<div class="confirm" role="group" aria-label="Erase the person">
        <p>Every row of this person leaves every table of the site, and the old files that held them are deleted. This cannot be undone.</p>
        <button type="button" ref=${confirm} onClick=${erase}>Erase now</button>
        <button type="button" class="ghost" onClick=${() => setAsking(false)}>Cancel</button>
      </div>`}
      ${state.busy && html`<p class="status" role="status">Working… an erasure rewrites files and may take a while.</p>`}
      ${state.error && html`<p class="status error" role="alert">${state.error.message}</p>`}
      ${state.done && html`<p class="status done" role="status">${state.done}</p>`}
    </form>
    <h3>Erasure receipts</h3>
    ${pending(receipts, "the erasure receipts") ||
    html`<${Rows} caption="Erasure receipts of the site, newest first" empty="No erasure yet." rows=${receipts.data.erasures} columns=${[
      ["Finished", (r) => when(r.finished_ts)],
      ["Rows erased", (r) => html`<span class="break" data-receipt-rows>${tables(r.rows)}</span>`],
      ["Files deleted", (r) => count(r.files_deleted)],
      ["Asked by", (r) => r.requested_by || "—"],
    ]} />`}
  <//>`;
}

const LAYERS = [
  ["bronze", "Bronze (raw events), days"],
  ["quarantine", "Quarantine (refused events), days"],
  ["silver", "Silver and gold, days"],
];

export function Retention({ site }) {
  const res = useResource(`${site_(site)}/retention`);
  const [saved, setSaved] = useState(null);
  const save = async (form) => {
    const body = {};
    for (const [kind] of LAYERS) {
      const v = String(form.get(kind)).trim();
      body[`${kind}_days`] = v === "" ? null : Number(v);
    }
    setSaved(await rest.patch(`${site_(site)}/retention`, body));
    return "Saved.";
  };
  const wait = pending(res, "the retention");
  const data = saved || res.data;
  if (wait && !data) return html`<${Tile} title="Retention" id="retention">${wait}<//>`;
  return html`<${Tile} title="Retention" id="retention">
    <p class="hint">Days each layer keeps a site's rows; 0 keeps them for ever, empty goes back to the server's setting. Maintenance deletes what is older.</p>
    <${Form} label="Retention" submit="Save the retention" action=${save} reset=${false}>
      <div class="form-grid">
        ${LAYERS.map(
          ([kind, label]) => html`<label class="field"><span>${label}${data.own.includes(kind) ? "" : " (the server's)"}</span>
            <input name=${kind} type="number" min="0" step="1" value=${data[`${kind}_days`]} /></label>`
        )}
      </div>
    <//>
  <//>`;
}

// Measured when asked: the route reads every data file's footer, too much for each visit of Settings.
export function Storage({ site }) {
  const [asked, setAsked] = useState(false);
  const res = useResource(asked ? `${site_(site)}/usage` : null);
  if (!asked)
    return html`<${Tile} title="Storage" wide id="storage">
      <p class="hint">Bytes, files and rows of every table, and events per day: measured by reading the lake's files.</p>
      <button type="button" onClick=${() => setAsked(true)}>Measure the storage</button>
    <//>`;
  const wait = pending(res, "the storage");
  if (wait) return html`<${Tile} title="Storage" wide id="storage">${wait}<//>`;
  const u = res.data;
  return html`<${Tile} title="Storage" wide id="storage">
    <p data-usage-total>${bytes(u.bytes)} in ${count(u.files)} files, ${count(u.rows)} rows (current snapshots).</p>
    <${Rows} caption="Storage per table" empty="No row in the lake yet." rows=${u.tables} columns=${[
      ["Table", (t) => t.table],
      ["Bytes", (t) => bytes(t.bytes)],
      ["Files", (t) => count(t.files)],
      ["Rows", (t) => count(t.rows)],
    ]} />
    <h3>Events per day</h3>
    <${Rows} caption="Events per day" empty="No event yet." rows=${u.events_per_day} columns=${[
      ["Day", (d) => d.day],
      ["Events", (d) => count(d.events)],
    ]} />
  <//>`;
}
