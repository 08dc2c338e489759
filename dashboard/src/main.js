// The dashboard's entry: who is logged in, the frame (navigation, site, dates, filters), the page.
import { render } from "preact";
import { useEffect } from "preact/hooks";
import { api, setCsrf } from "./api.js";
import { me, session, url, navigate, withParams, share, pagePath } from "./state.js";
import { html, Loading, Failure, useAsync } from "./ui.js";
import { Frame } from "./frame.js";
import { Login } from "./pages/login.js";
import { PAGES } from "./pages/index.js";
import "./style.css";

function App() {
  const path = pagePath.value;
  const who = useAsync(() => (path === "/login" ? null : api.me()), `${session.value}:${path === "/login"}`);
  useEffect(() => {
    if (who.data) {
      setCsrf(who.data.csrf_token);
      me.value = who.data;
    }
  }, [who.data]);
  if (path === "/login" && !share) return html`<${Login} />`;
  if (who.loading && !me.value) return html`<main id="main"><${Loading} what="your account" /></main>`;
  if (who.error && who.error.status === 401 && !share) {
    navigate("/login", withParams({ next: location.pathname + location.search }, ""), { replace: true });
    return null;
  }
  if (who.error) return html`<main id="main"><${Failure} error=${who.error} /></main>`;
  if (!me.value) return html`<main id="main"><${Loading} what="your account" /></main>`;
  const page = PAGES.find((p) => p.path === path && (!share || p.shared));
  if (!page)
    return html`<${Frame} title="Not found"><p class="status">There is no page at ${path}.</p><//>`;
  document.title = share ? `${page.title} · ${share.site_name || share.site_id} · clicklake` : `${page.title} · clicklake`;
  return html`<${Frame} title=${page.title} page=${page}><${page.component} /><//>`;
}

render(html`<${App} />`, document.getElementById("app"));
