// A snapshot of the view (sites, dates, filters, comparison) and a key that changes with it.
import { siteIds, dateRange, previousRange, filters, comparing, compareHow, interval } from "./state.js";

export function currentView() {
  const v = {
    siteIds: siteIds.value,
    dateRange: dateRange.value,
    previousRange: previousRange.value,
    filters: filters.value,
    comparing: comparing.value,
    compareHow: compareHow.value,
    interval: interval.value,
  };
  v.key = JSON.stringify(v);
  return v;
}
