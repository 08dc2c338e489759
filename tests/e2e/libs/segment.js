// analytics.js (@segment/analytics-next) as published, with no CDN: the settings it would fetch are given.
import { AnalyticsBrowser } from "@segment/analytics-next";

window.startSegment = (writeKey, apiHost, deliveryStrategy) => {
  const segmentio = { apiKey: writeKey, apiHost, protocol: "http", deliveryStrategy };
  window.analytics = AnalyticsBrowser.load(
    { writeKey, cdnSettings: { integrations: { "Segment.io": segmentio } } },
    { integrations: { "Segment.io": { apiHost, protocol: "http", deliveryStrategy } } },
  );
  return window.analytics;
};
