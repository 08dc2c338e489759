// The login page: POST /login, then back to where the visitor was going.
import { useState } from "preact/hooks";
import { api, setCsrf } from "../api.js";
import { me, session, navigate } from "../state.js";
import { html, useAsync } from "../ui.js";

// where to go after logging in: the `next` of the URL when it is a path of this server
function nextPath() {
  const next = new URLSearchParams(location.search).get("next");
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

// "Sign in with single sign-on" when the server has an OpenID provider (GET /api/login-methods)
function SingleSignOn() {
  const methods = useAsync(() => api.loginMethods(), "methods");
  const m = methods.data;
  if (!m || !m.oidc || !m.oidc_url) return null;
  const href = m.oidc_url + "?" + new URLSearchParams({ next: nextPath() }).toString();
  return html`<p class="sso"><a class="button" href=${href}>Sign in with single sign-on</a></p>`;
}

export function Login() {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  document.title = "Log in · clicklake";
  const submit = async (e) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    setBusy(true);
    setError(null);
    try {
      const out = await api.login(String(form.get("email")), String(form.get("password")));
      setCsrf(out.csrf_token);
      me.value = null;
      session.value += 1;
      const target = new URL(nextPath(), location.href);
      navigate(target.pathname === "/login" ? "/" : target.pathname, target.searchParams, { replace: true });
    } catch (err) {
      setError(err.message);
      setBusy(false);
    }
  };
  return html`<main id="main" class="login">
    <h1>Log in to clicklake</h1>
    <form method="post" action="/login" onSubmit=${submit}>
      <label class="field"><span>E-mail</span><input name="email" type="email" autocomplete="username" required autofocus /></label>
      <label class="field"><span>Password</span><input name="password" type="password" autocomplete="current-password" required /></label>
      ${error && html`<p class="status error" role="alert">${error}</p>`}
      <button type="submit" disabled=${busy}>${busy ? "Logging in…" : "Log in"}</button>
    </form>
    <${SingleSignOn} />
    <p class="hint">The first login is printed by <code>clicklake up</code> on a new data directory.</p>
  </main>`;
}
