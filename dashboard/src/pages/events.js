// Events: every event type and every custom event with their counts; a row filters the view.
import { html } from "../ui.js";
import { currentView } from "../view.js";
import { Breakdown } from "./overview.js";

export function Events() {
  const view = currentView();
  return html`<div class="grid">
    <${Breakdown} view=${view} title="Custom events" dimension="event_name" metric="events" fallback=${null} limit=${50}
      extraFilters=${[["is", "event_type", ["custom"]]]} />
    <${Breakdown} view=${view} title="Event types" dimension="event_type" metric="events" fallback=${null} limit=${50} />
  </div>`;
}
