// Date ranges, computed in the browser's calendar (UTC days, as the Stats API counts them).
export const PERIODS = [
  ["today", "Today"],
  ["yesterday", "Yesterday"],
  ["7d", "Last 7 days"],
  ["30d", "Last 30 days"],
  ["month", "Month to date"],
  ["last_month", "Last month"],
  ["12mo", "Last 12 months"],
  ["custom", "Custom range"],
];

export function iso(d) {
  return d.toISOString().slice(0, 10);
}

function utcDay(y, m, d) {
  return new Date(Date.UTC(y, m, d));
}

function addDays(d, n) {
  return utcDay(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + n);
}

// [from, to] (ISO dates, both included) for a period; `now` is a Date.
export function rangeOf(period, now = new Date(), from = null, to = null) {
  const today = utcDay(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const y = today.getUTCFullYear();
  const m = today.getUTCMonth();
  switch (period) {
    case "today":
      return [iso(today), iso(today)];
    case "yesterday":
      return [iso(addDays(today, -1)), iso(addDays(today, -1))];
    case "7d":
      return [iso(addDays(today, -6)), iso(today)];
    case "month":
      return [iso(utcDay(y, m, 1)), iso(today)];
    case "last_month":
      return [iso(utcDay(y, m - 1, 1)), iso(utcDay(y, m, 0))];
    case "12mo": {
      // from the day after the same date a year before (29 February's is the 28th)
      const lastOfMonth = utcDay(y - 1, m + 1, 0).getUTCDate();
      const yearBefore = utcDay(y - 1, m, Math.min(today.getUTCDate(), lastOfMonth));
      return [iso(addDays(yearBefore, 1)), iso(today)];
    }
    case "custom":
      if (from && to && from <= to) return [from, to];
      return rangeOf("30d", now);
    default:
      return [iso(addDays(today, -29)), iso(today)];
  }
}

// The range of the same length that ends the day before `from` (the API's previous_period).
export function previousOf([from, to]) {
  const a = new Date(from + "T00:00:00Z");
  const b = new Date(to + "T00:00:00Z");
  const days = Math.round((b - a) / 86400000) + 1;
  return [iso(addDays(a, -days)), iso(addDays(a, -1))];
}

// The same days a year before (the API's previous_year): 29 February becomes the 28th.
export function yearBeforeOf([from, to]) {
  const back = (day) => {
    const [y, m, d] = day.split("-").map(Number);
    const last = new Date(Date.UTC(y - 1, m, 0)).getUTCDate();
    return iso(new Date(Date.UTC(y - 1, m - 1, Math.min(d, last))));
  };
  return [back(from), back(to)];
}

export function daysIn([from, to]) {
  return Math.round((new Date(to + "T00:00:00Z") - new Date(from + "T00:00:00Z")) / 86400000) + 1;
}

// The time buckets of a range at an interval, as the Stats API's `time:*` values start
// (UTC; a week starts on Monday), each as the key that `bucketKey` gives a value; at most `max`.
export function buckets([from, to], interval, max = 2000) {
  const end = new Date(to + "T00:00:00Z");
  let t = new Date(from + "T00:00:00Z");
  if (interval === "week") t = addDays(t, -((t.getUTCDay() + 6) % 7));
  if (interval === "month") t = utcDay(t.getUTCFullYear(), t.getUTCMonth(), 1);
  const out = [];
  const last = interval === "hour" ? end.getTime() + 23 * 3600000 : end.getTime();
  while (t.getTime() <= last && out.length < max) {
    out.push(bucketKey(t.toISOString(), interval));
    if (interval === "hour") t = new Date(t.getTime() + 3600000);
    else if (interval === "week") t = addDays(t, 7);
    else if (interval === "month") t = utcDay(t.getUTCFullYear(), t.getUTCMonth() + 1, 1);
    else t = addDays(t, 1);
  }
  return out.length < max ? out : null;
}

// "2026-11-20 10:00" for an hour, "2026-11" for a month, the date otherwise.
export function bucketKey(value, interval) {
  const s = String(value).replace("T", " ");
  if (interval === "hour") return s.slice(0, 13) + ":00";
  if (interval === "month") return s.slice(0, 7);
  return s.slice(0, 10);
}

// The time grain that suits a range when none is chosen.
export function defaultInterval(range) {
  const n = daysIn(range);
  if (n <= 2) return "hour";
  if (n <= 92) return "day";
  return "month";
}
