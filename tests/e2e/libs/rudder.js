// RudderStack's JS SDK v3 (@rudderstack/analytics-js) as published, its plugins bundled, and its source
// settings given instead of fetched from RudderStack's control plane.
import { RudderAnalytics } from "@rudderstack/analytics-js/bundled";

const source = { id: "clicklake", name: "clicklake", workspaceId: "clicklake", enabled: true, config: {}, destinations: [] };

window.startRudder = (writeKey, dataPlaneUrl, options) => {
  const rudder = new RudderAnalytics();
  rudder.load(writeKey, dataPlaneUrl, { getSourceConfig: () => ({ source }), loadIntegration: false, ...options });
  window.rudder = rudder;
  return rudder;
};
