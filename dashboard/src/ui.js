// Shared pieces: links within the app, the async hook, loading and error states,
// tiles with "Show SQL" and CSV, and tables whose rows filter the view.
import { h } from "preact";
import { useEffect, useState } from "preact/hooks";
import htm from "htm";
import { navigate, share } from "./state.js";
import { toCsv, download } from "./csv.js";
import { label, formatValue } from "./stats.js";

export const html = htm.bind(h);

export function Link({ href, children, ...rest }) {
  const go = (e) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    const u = new URL(href, location.href);
    navigate(u.pathname, u.searchParams);
  };
  return html`<a href=${href} onClick=${go} ...${rest}>${children}</a>`;
}

// Run `fn` whenever `key` changes: {loading, error, data}.
export function useAsync(fn, key) {
  const [state, setState] = useState({ loading: true, error: null, data: null });
  useEffect(() => {
    let live = true;
    setState((s) => ({ loading: true, error: null, data: s.data }));
    Promise.resolve()
      .then(fn)
      .then(
        (data) => live && setState({ loading: false, error: null, data }),
        (error) => live && setState({ loading: false, error, data: null })
      );
    return () => {
      live = false;
    };
  }, [key]);
  return state;
}

export function Loading({ what = "figures" }) {
  return html`<p class="status" role="status" aria-live="polite"><span class="spinner" aria-hidden="true"></span>Loading ${what}…</p>`;
}

export function Failure({ error }) {
  return html`<p class="status error" role="alert">Could not load this: ${error.message}</p>`;
}

export function sqlHref(sql) {
  return "/sql?" + new URLSearchParams({ sql }).toString();
}

// A titled box with its actions: "Show SQL" opens the console with the tile's query.
export function Tile({ title, sql, csv, children, wide = false, id }) {
  const slug = id || title.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  return html`<section class=${"tile" + (wide ? " wide" : "")} aria-labelledby=${"t-" + slug} data-tile=${slug}>
    <header class="tile-head">
      <h2 id=${"t-" + slug}>${title}</h2>
      <div class="tile-actions">
        ${csv &&
        html`<button type="button" class="ghost" onClick=${() => download(csv.name, toCsv(csv.columns, csv.rows))}>
          CSV<span class="sr-only"> of ${title}</span>
        </button>`}
        ${sql && !share && html`<${Link} class="ghost button" href=${sqlHref(sql)}>Show SQL<span class="sr-only"> of ${title}</span><//>`}
      </div>
    </header>
    ${children}
    ${sql && share && html`<details class="sql-text"><summary>SQL<span class="sr-only"> of ${title}</span></summary><pre>${sql}</pre></details>`}
  </section>`;
}

// A country's name in the browser's own data (Intl), its code kept beside it; no map data is shipped.
let regions = null;
export function countryName(code) {
  try {
    regions = regions || new Intl.DisplayNames(["en"], { type: "region" });
    const name = regions.of(code);
    return name && name !== code ? `${name} (${code})` : code;
  } catch (e) {
    return code;
  }
}

// A table of rows; with `onPick`, the first column's values are buttons that filter the view
// (`show` writes a value for people; the filter keeps the value itself).
export function Table({ caption, columns, rows, onPick, bar, show = String }) {
  if (!rows.length) return html`<p class="status">No data for this range and these filters.</p>`;
  const max = bar ? Math.max(...rows.map((r) => Number(r[bar]) || 0), 1) : 1;
  // a table wider than the screen scrolls in its box, which the keyboard can reach too
  return html`<div class="table-wrap" tabindex="0" role="region" aria-label=${caption}><table>
    <caption class="sr-only">${caption}</caption>
    <thead><tr>${columns.map((c, i) => html`<th scope="col" class=${i ? "num" : ""}>${label(c)}</th>`)}</tr></thead>
    <tbody>
      ${rows.map(
        (row) => html`<tr>
          ${columns.map((c, i) => {
            if (i) return html`<td class="num">${formatValue(c, row[c])}</td>`;
            const text = row[c] === null || row[c] === undefined ? "(none)" : show(row[c]);
            const width = bar ? (100 * (Number(row[bar]) || 0)) / max : 0;
            const inner =
              onPick && row[c] !== null && row[c] !== undefined
                ? html`<button type="button" class="pick" title=${"Filter by " + text} onClick=${() => onPick(row[c])}>${text}</button>`
                : text;
            return html`<th scope="row" class="label-cell">
              ${bar && html`<span class="bar" style=${{ width: width + "%" }} aria-hidden="true"></span>`}
              <span class="label-text">${inner}</span>
            </th>`;
          })}
        </tr>`
      )}
    </tbody>
  </table></div>`;
}
