// Who may read a site: its members (their roles changed in place) and invitations, its shared links, and the caller's own API tokens.
import { useState } from "preact/hooks";
import { rest } from "../api.js";
import { html, Tile } from "../ui.js";
import { useResource, pending, Form, RowAction, Secret, Rows, when } from "../forms.js";

const ROLES = ["viewer", "admin", "owner"];
const site_ = (site) => `/api/sites/${encodeURIComponent(site.site_id)}`;

function RoleSelect() {
  return html`<label class="field"><span>Role</span>
    <select name="role">${ROLES.map((r) => html`<option value=${r}>${r}</option>`)}</select></label>`;
}

function Invitations({ site }) {
  const res = useResource(`${site_(site)}/invitations`);
  const [link, setLink] = useState(null);
  const invite = async (form) => {
    const made = await rest.post(`${site_(site)}/invitations`, { email: String(form.get("email")).trim(), role: form.get("role") });
    setLink(location.origin + made.url);
    res.reload();
  };
  const open = (res.data ? res.data.invitations : []).filter((i) => !i.revoked_ts && !i.accepted_ts);
  return html`<h3>Invitations</h3>
    <p class="hint">An invitation is a link that adds an e-mail to the site with a role; no mail is sent: pass it on yourself.</p>
    ${pending(res, "the invitations") ||
    html`<${Rows} caption="Open invitations" empty="No open invitation." rows=${open} columns=${[
      ["E-mail", (i) => i.email],
      ["Role", (i) => i.role],
      ["Expires", (i) => when(i.expires_ts)],
      ["Actions", (i) => html`<${RowAction} label="Revoke" what=${"the invitation of " + i.email}
        action=${async () => { await rest.del(`${site_(site)}/invitations/${encodeURIComponent(i.invitation_id)}`); res.reload(); }} />`],
    ]} />`}
    <${Form} label="Invite someone" submit="Create the invitation" action=${invite}>
      <label class="field"><span>E-mail to invite</span><input name="email" type="email" required /></label>
      <${RoleSelect} />
    <//>
    <${Secret} title="The invitation link:" value=${link} />`;
}

// A member's role, changed in place: the server says why when the caller may not grant it.
function RoleChange({ site, member, onChanged }) {
  const [state, setState] = useState({ busy: false, error: null, done: false });
  const change = async (e) => {
    const role = e.currentTarget.value;
    setState({ busy: true, error: null, done: false });
    try {
      await rest.post(`${site_(site)}/members`, { email: member.email, role });
      setState({ busy: false, error: null, done: true });
      onChanged();
    } catch (error) {
      setState({ busy: false, error, done: false });
      e.target.value = member.role;
    }
  };
  return html`<label class="inline-field"><span class="sr-only">Role of ${member.email}</span>
      <select value=${member.role} disabled=${state.busy} onChange=${change}>
        ${ROLES.map((r) => html`<option value=${r}>${r}</option>`)}</select></label>
    ${state.error && html`<span class="status error" role="alert">${state.error.message}</span>`}`;
}

export function Members({ site, manage }) {
  const res = useResource(`${site_(site)}/members`);
  const add = async (form) => {
    const email = String(form.get("email")).trim();
    await rest.post(`${site_(site)}/members`, { email, role: form.get("role") });
    res.reload();
    return `${email} is now a member.`;
  };
  const columns = [
    ["E-mail", (m) => m.email],
    ["Role", (m) => (manage ? html`<${RoleChange} site=${site} member=${m} onChanged=${res.reload} />` : m.role)],
  ];
  if (manage)
    columns.push(["Actions", (m) => html`<${RowAction} label="Remove" what=${m.email}
      action=${async () => { await rest.del(`${site_(site)}/members/${encodeURIComponent(m.email)}`); res.reload(); }} />`]);
  return html`<${Tile} title="Members and roles" wide id="members">
    ${pending(res, "the members") || html`<${Rows} caption="Members of the site" empty="No member yet." rows=${res.data.members} columns=${columns} />`}
    ${manage &&
    html`<${Form} label="Add a member" submit="Add the member" action=${add}>
        <label class="field"><span>E-mail of a user</span><input name="email" type="email" required /></label>
        <${RoleSelect} />
      <//>
      <${Invitations} site=${site} />`}
  <//>`;
}

export function Shares({ site }) {
  const res = useResource(`${site_(site)}/shares`);
  const [link, setLink] = useState(null);
  const create = async (form) => {
    const body = { embed: form.get("embed") === "on" };
    const label = String(form.get("label")).trim();
    const password = String(form.get("password"));
    const days = String(form.get("expires_days")).trim();
    if (label) body.label = label;
    if (password) body.password = password;
    if (days) body.expires_days = Number(days);
    const made = await rest.post(`${site_(site)}/shares`, body);
    setLink(location.origin + made.url);
    res.reload();
  };
  const active = (res.data ? res.data.shares : []).filter((s) => !s.revoked_ts);
  return html`<${Tile} title="Shared links" wide id="shares">
    <p class="hint">A shared link opens a read-only dashboard of this site, with no account; an embeddable one may be framed by other sites.</p>
    ${pending(res, "the shared links") ||
    html`<${Rows} caption="Shared links of the site" empty="No shared link." rows=${active} columns=${[
      ["Label", (s) => s.label || s.share_id],
      ["Password", (s) => (s.has_password ? "yes" : "no")],
      ["Embeddable", (s) => (s.embed ? "yes" : "no")],
      ["Created", (s) => when(s.created_ts)],
      ["Expires", (s) => (s.expires_ts ? when(s.expires_ts) : "never")],
      ["Actions", (s) => html`<${RowAction} label="Revoke" what=${"the shared link " + (s.label || s.share_id)}
        action=${async () => { await rest.del(`${site_(site)}/shares/${encodeURIComponent(s.share_id)}`); res.reload(); }} />`],
    ]} />`}
    <${Form} label="Create a shared link" submit="Create the shared link" action=${create}>
      <div class="form-grid">
        <label class="field"><span>Label</span><input name="label" /></label>
        <label class="field"><span>Password (optional, 8 characters or more)</span><input name="password" type="password" autocomplete="new-password" /></label>
        <label class="field"><span>Expires after (days, optional)</span><input name="expires_days" type="number" min="1" /></label>
        <label class="check"><input type="checkbox" name="embed" /><span>Embeddable in other sites</span></label>
      </div>
    <//>
    <${Secret} title="The shared link:" value=${link} />
  <//>`;
}

export function Tokens({ site }) {
  const res = useResource("/api/tokens");
  const [secret, setSecret] = useState(null);
  const create = async (form) => {
    const body = { scope: form.get("scope") };
    if (form.get("this_site") === "on") body.site_id = site.site_id;
    const days = String(form.get("expires_days")).trim();
    if (days) body.expires_days = Number(days);
    const made = await rest.post("/api/tokens", body);
    setSecret(made.token);
    res.reload();
  };
  const active = (res.data ? res.data.tokens : []).filter((t) => !t.revoked_ts);
  return html`<${Tile} title="Your API tokens" wide id="tokens">
    <p class="hint">Tokens are yours, for scripts: send one as <code>Authorization: Bearer …</code>.</p>
    ${pending(res, "your tokens") ||
    html`<${Rows} caption="Your API tokens" empty="You have no token." rows=${active} columns=${[
      ["Token", (t) => t.token_id],
      ["Scope", (t) => t.scope],
      ["Site", (t) => t.site_id || "all yours"],
      ["Created", (t) => when(t.created_ts)],
      ["Expires", (t) => (t.expires_ts ? when(t.expires_ts) : "never")],
      ["Last used", (t) => when(t.last_used_ts)],
      ["Actions", (t) => html`<${RowAction} label="Revoke" what=${"the token " + t.token_id}
        action=${async () => { await rest.del(`/api/tokens/${encodeURIComponent(t.token_id)}`); res.reload(); }} />`],
    ]} />`}
    <${Form} label="Create a token" submit="Create the token" action=${create}>
      <div class="form-grid">
        <label class="field"><span>Scope</span>
          <select name="scope"><option value="stats">stats (figures)</option><option value="sql">sql (the console)</option><option value="admin">admin (settings)</option></select></label>
        <label class="field"><span>Expires after (days, optional)</span><input name="expires_days" type="number" min="1" /></label>
        <label class="check"><input type="checkbox" name="this_site" checked /><span>This site only (${site.name})</span></label>
      </div>
    <//>
    <${Secret} title="The new token:" value=${secret} />
  <//>`;
}
