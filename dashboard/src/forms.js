// The Settings page's pieces: a resource that can be asked again, a form whose failure is
// said in words, a secret shown once, and times in words.
import { useEffect, useState } from "preact/hooks";
import { html, Loading, Failure } from "./ui.js";
import { rest } from "./api.js";

// GET `path` (when given): {loading, error, data, reload}.
export function useResource(path) {
  const [version, setVersion] = useState(0);
  const [state, setState] = useState({ loading: true, error: null, data: null });
  useEffect(() => {
    if (!path) return undefined;
    let live = true;
    setState((s) => ({ loading: true, error: null, data: s.data }));
    rest.get(path).then(
      (data) => live && setState({ loading: false, error: null, data }),
      (error) => live && setState({ loading: false, error, data: null })
    );
    return () => {
      live = false;
    };
  }, [path, version]);
  return { ...state, reload: () => setVersion((v) => v + 1) };
}

// What a resource shows while it loads or when it failed; null once its data is in.
export function pending(res, what) {
  if (res.error) return html`<${Failure} error=${res.error} />`;
  if (!res.data) return html`<${Loading} what=${what} />`;
  return null;
}

// A form that runs `action(form data)`; a failure shows as an alert, a success as `done`'s text.
export function Form({ label, action, submit, children, reset = true }) {
  const [state, setState] = useState({ busy: false, error: null, done: null });
  const onSubmit = async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    setState({ busy: true, error: null, done: null });
    try {
      const done = await action(new FormData(form));
      if (reset) form.reset();
      setState({ busy: false, error: null, done: done || null });
    } catch (error) {
      setState({ busy: false, error, done: null });
    }
  };
  return html`<form class="admin-form" aria-label=${label} onSubmit=${onSubmit}>
    ${children}
    <div class="form-actions"><button type="submit" disabled=${state.busy}>${submit}</button></div>
    ${state.error && html`<p class="status error" role="alert">${state.error.message}</p>`}
    ${state.done && html`<p class="status done" role="status">${state.done}</p>`}
  </form>`;
}

// A button that does one thing to a row (revoke, remove, delete) and says why it failed.
export function RowAction({ label, what, action }) {
  const [state, setState] = useState({ busy: false, error: null });
  const run = async () => {
    setState({ busy: true, error: null });
    try {
      await action();
    } catch (error) {
      setState({ busy: false, error });
      return;
    }
    setState({ busy: false, error: null });
  };
  return html`<button type="button" class="ghost small" disabled=${state.busy} onClick=${run}>
      ${label}<span class="sr-only"> ${what}</span>
    </button>${state.error && html`<span class="status error" role="alert">${state.error.message}</span>`}`;
}

// A secret the server answers once: the text to copy and a warning that it will not show again.
export function Secret({ title, value, note }) {
  if (!value) return null;
  return html`<div class="secret" role="status" data-secret>
    <p><strong>${title}</strong> ${note || "It is shown only now: copy it."}</p>
    <pre class="snippet"><code>${value}</code></pre>
  </div>`;
}

export function when(ms) {
  if (!ms) return "—";
  return new Date(ms).toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

// A simple table of records: `columns` is [[heading, (row) => content], ...]; the first is the row's header.
export function Rows({ caption, columns, rows, empty }) {
  if (!rows.length) return html`<p class="status">${empty}</p>`;
  return html`<div class="table-wrap"><table>
    <caption class="sr-only">${caption}</caption>
    <thead><tr>${columns.map(([h]) => html`<th scope="col">${h}</th>`)}</tr></thead>
    <tbody>${rows.map(
      (row) => html`<tr>${columns.map(([, cell], i) => (i ? html`<td>${cell(row)}</td>` : html`<th scope="row">${cell(row)}</th>`))}</tr>`
    )}</tbody>
  </table></div>`;
}
