// A site's scheduled e-mail reports (web/alerts.py, clicklake.alerts.email_reports): the last week's
// or month's overview figures against the period before, sent to one address each period.
import { rest } from "../api.js";
import { html, Tile } from "../ui.js";
import { useResource, pending, Form, RowAction, Rows, when } from "../forms.js";

const PERIODS = [
  ["weekly", "weekly (each Monday, the week before)"],
  ["monthly", "monthly (on the 1st, the month before)"],
];

export function EmailReports({ site }) {
  const res = useResource("/api/email-reports");
  const create = async (form) => {
    const email = String(form.get("email")).trim();
    const period = form.get("period");
    await rest.post("/api/email-reports", { site_id: site.site_id, period, email });
    res.reload();
    return `${email} gets a ${period} report.`;
  };
  const wait = pending(res, "the e-mail reports");
  const reports = res.data ? res.data.reports.filter((r) => r.site_id === site.site_id) : [];
  return html`<${Tile} title="E-mail reports" wide id="email-reports">
    <p class="hint">A report sends the site's visitors, visits, page views, bounce rate, orders and revenue of the last
      complete week or month, beside the period before, by the server's mail settings (docs/operations.md).</p>
    ${wait ||
    html`<${Rows} caption="E-mail reports of the site" empty="No e-mail report." rows=${reports} columns=${[
      ["To", (r) => r.email],
      ["Period", (r) => r.period],
      ["Last sent", (r) => r.last_sent || "not yet"],
      ["Created", (r) => when(r.created_ts)],
      ["Actions", (r) => html`<${RowAction} label="Delete" what=${`the ${r.period} report to ${r.email}`}
        action=${async () => { await rest.del(`/api/email-reports/${encodeURIComponent(r.report_id)}`); res.reload(); }} />`],
    ]} />`}
    <${Form} label="Schedule an e-mail report" submit="Schedule the report" action=${create}>
      <div class="form-grid">
        <label class="field"><span>Send to (e-mail)</span><input name="email" type="email" required /></label>
        <label class="field"><span>Period</span>
          <select name="period">${PERIODS.map(([v, text]) => html`<option value=${v}>${text}</option>`)}</select></label>
      </div>
    <//>
  <//>`;
}
