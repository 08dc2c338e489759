// Apache ECharts, tree-shaken: the line and bar charts, a grid, tooltips and a legend, on canvas.
import { h } from "preact";
import { useEffect, useRef } from "preact/hooks";
import * as echarts from "echarts/core";
import { LineChart, BarChart } from "echarts/charts";
import { GridComponent, TooltipComponent, LegendComponent, AriaComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";
import { html } from "./ui.js";

echarts.use([LineChart, BarChart, GridComponent, TooltipComponent, LegendComponent, AriaComponent, CanvasRenderer]);

const dark = () => window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;

// `option` is an ECharts option; `summary` is what a screen reader is told instead of the picture.
export function Chart({ option, summary, height = 260 }) {
  const box = useRef(null);
  const chart = useRef(null);
  useEffect(() => {
    chart.current = echarts.init(box.current, dark() ? "dark" : null, { renderer: "canvas" });
    const resize = () => chart.current && chart.current.resize();
    window.addEventListener("resize", resize);
    return () => {
      window.removeEventListener("resize", resize);
      chart.current.dispose();
      chart.current = null;
    };
  }, []);
  useEffect(() => {
    chart.current.setOption(
      { backgroundColor: "transparent", aria: { enabled: true }, animation: false, ...option },
      true
    );
  }, [JSON.stringify(option)]);
  return html`<figure class="chart">
    <div ref=${box} class="chart-box" style=${{ height: height + "px" }} role="img" aria-label=${summary}></div>
  </figure>`;
}
