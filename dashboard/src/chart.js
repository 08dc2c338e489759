// A chart: an ECharts option drawn in a box once the chart library (a chunk of its own) is loaded.
import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "./ui.js";

let library = null;
const load = () => (library = library || import("./echarts.js"));
const dark = () => window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;

// `option` is an ECharts option; `summary` is what a screen reader is told instead of the picture.
export function Chart({ option, summary, height = 260 }) {
  const box = useRef(null);
  const chart = useRef(null);
  const text = JSON.stringify(option);
  const [scheme, setScheme] = useState(dark());
  useEffect(() => {
    // the system's scheme may change under an open page: draw again in the new one
    const query = window.matchMedia("(prefers-color-scheme: dark)");
    const changed = () => setScheme(query.matches);
    query.addEventListener("change", changed);
    return () => query.removeEventListener("change", changed);
  }, []);
  useEffect(() => {
    let live = true;
    const resize = () => chart.current && chart.current.resize();
    load().then((lib) => {
      if (!live) return;
      chart.current = lib.init(box.current, scheme);
      chart.current.setOption({ backgroundColor: "transparent", animation: false, ...JSON.parse(text) }, true);
      box.current.dataset.drawn = "true";
    });
    window.addEventListener("resize", resize);
    return () => {
      live = false;
      window.removeEventListener("resize", resize);
      if (chart.current) chart.current.dispose();
      chart.current = null;
    };
  }, [text, scheme]);
  return html`<figure class="chart">
    <div ref=${box} class="chart-box" style=${{ height: height + "px" }} role="img" aria-label=${summary}></div>
  </figure>`;
}
