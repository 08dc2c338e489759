// Unit tests of the dashboard's date ranges and CSV (dashboard/src/dates.js, csv.js) with the Node test runner.
import assert from "node:assert/strict";
import { test } from "node:test";

import { bucketKey, buckets, daysIn, defaultInterval, previousOf, rangeOf, yearBeforeOf } from "../../dashboard/src/dates.js";
import { toCsv } from "../../dashboard/src/csv.js";

const at = (iso) => new Date(iso);

test("each period is a range of UTC days ending where a person expects", () => {
  const now = at("2026-03-15T23:30:00Z");
  assert.deepEqual(rangeOf("today", now), ["2026-03-15", "2026-03-15"]);
  assert.deepEqual(rangeOf("yesterday", now), ["2026-03-14", "2026-03-14"]);
  assert.deepEqual(rangeOf("7d", now), ["2026-03-09", "2026-03-15"]);
  assert.deepEqual(rangeOf("30d", now), ["2026-02-14", "2026-03-15"]);
  assert.deepEqual(rangeOf("month", now), ["2026-03-01", "2026-03-15"]);
  assert.deepEqual(rangeOf("last_month", now), ["2026-02-01", "2026-02-28"]);
  assert.deepEqual(rangeOf("12mo", now), ["2025-03-16", "2026-03-15"]);
});

test("month and year edges: January's last month is December, a leap February has 29 days", () => {
  assert.deepEqual(rangeOf("last_month", at("2027-01-05T00:00:00Z")), ["2026-12-01", "2026-12-31"]);
  assert.deepEqual(rangeOf("last_month", at("2028-03-01T12:00:00Z")), ["2028-02-01", "2028-02-29"]);
  assert.deepEqual(rangeOf("month", at("2026-12-01T00:00:01Z")), ["2026-12-01", "2026-12-01"]);
  assert.deepEqual(rangeOf("12mo", at("2028-02-29T08:00:00Z")), ["2027-03-01", "2028-02-29"]);
});

test("a custom range is taken as given, and a reversed or missing one falls back to 30 days", () => {
  const now = at("2026-03-15T10:00:00Z");
  assert.deepEqual(rangeOf("custom", now, "2026-01-02", "2026-01-09"), ["2026-01-02", "2026-01-09"]);
  assert.deepEqual(rangeOf("custom", now, "2026-01-09", "2026-01-02"), rangeOf("30d", now));
  assert.deepEqual(rangeOf("custom", now, null, "2026-01-02"), rangeOf("30d", now));
});

test("the previous period has the same length and ends the day before, as the Stats API's", () => {
  assert.deepEqual(previousOf(["2026-11-20", "2026-11-22"]), ["2026-11-17", "2026-11-19"]);
  assert.deepEqual(previousOf(["2026-03-01", "2026-03-31"]), ["2026-01-29", "2026-02-28"]);
  assert.equal(daysIn(["2026-03-01", "2026-03-31"]), 31);
  assert.equal(defaultInterval(["2026-03-01", "2026-03-01"]), "hour");
  assert.equal(defaultInterval(["2026-03-01", "2026-03-31"]), "day");
  assert.equal(defaultInterval(["2025-03-16", "2026-03-15"]), "month");
});

test("CSV quotes what needs quoting and writes nulls as empty cells", () => {
  const rows = [{ page: '/a,"b"', n: 3 }, { page: null, n: 0 }];
  assert.equal(toCsv(["page", "n"], rows), 'page,n\r\n"/a,""b""",3\r\n,0\r\n');
});

test("the time series has a bucket for every hour, day, week and month of the range", () => {
  assert.deepEqual(buckets(["2026-11-20", "2026-11-22"], "day"), ["2026-11-20", "2026-11-21", "2026-11-22"]);
  const hours = buckets(["2026-11-20", "2026-11-20"], "hour");
  assert.equal(hours.length, 24);
  assert.deepEqual([hours[0], hours[23]], ["2026-11-20 00:00", "2026-11-20 23:00"]);
  // weeks start on Monday (DuckDB's date_trunc('week')): 2026-11-20 is a Friday
  assert.deepEqual(buckets(["2026-11-20", "2026-12-01"], "week"), ["2026-11-16", "2026-11-23", "2026-11-30"]);
  assert.deepEqual(buckets(["2025-12-16", "2026-02-03"], "month"), ["2025-12", "2026-01", "2026-02"]);
  assert.equal(buckets(["2020-01-01", "2026-01-01"], "hour"), null); // too many: the rows alone
  assert.equal(bucketKey("2026-11-20T10:00:00+00:00", "hour"), "2026-11-20 10:00");
  assert.equal(bucketKey("2026-11-20 00:00:00+00", "day"), "2026-11-20");
});

test("the same days a year before are the API's previous_year, 29 February becoming the 28th", () => {
  assert.deepEqual(yearBeforeOf(["2026-11-20", "2026-11-22"]), ["2025-11-20", "2025-11-22"]);
  assert.deepEqual(yearBeforeOf(["2028-02-01", "2028-02-29"]), ["2027-02-01", "2027-02-28"]);
  assert.deepEqual(yearBeforeOf(["2026-01-01", "2026-12-31"]), ["2025-01-01", "2025-12-31"]);
});
