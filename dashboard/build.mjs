// Build the dashboard into src/clicklake/web/assets/: the entry script and stylesheet, and the
// chunks it imports later (the chart library, the world map), minified, each named by a hash of its content;
// manifest.json names the entry's files (the Python side writes them into the page shell).
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { build } from "esbuild";

const here = new URL(".", import.meta.url).pathname;
const out = here + "../src/clicklake/web/assets/";
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const result = await build({
  entryPoints: { app: here + "src/main.js" },
  bundle: true,
  minify: true,
  format: "esm",
  splitting: true,
  chunkNames: "[name]-[hash]",
  target: ["es2020"],
  entryNames: "[name]-[hash]",
  outdir: out,
  metafile: true,
  legalComments: "none",
  logLevel: "warning",
});
const outputs = result.metafile.outputs;
const entry = Object.keys(outputs).find((p) => outputs[p].entryPoint);
// the world map's own chunk (worldmap.js, imported only when a map is drawn), which bench/dashboard_size.py counts apart
const map = Object.keys(outputs).find((p) => (outputs[p].entryPoint || "").endsWith("src/worldmap.js"));
const manifest = {
  js: basename(entry),
  css: basename(outputs[entry].cssBundle),
  chunks: Object.keys(outputs).map((p) => basename(p)).filter((f) => f.endsWith(".js") && f !== basename(entry)),
  map: basename(map),
};
writeFileSync(out + "manifest.json", JSON.stringify(manifest, null, 2) + "\n");
console.log("dashboard:", readdirSync(out).join(" "));
