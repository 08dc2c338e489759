// Build the dashboard into src/clicklake/web/assets/: one hashed script and stylesheet,
// minified, and manifest.json naming them (the Python side writes them into the page shell).
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
  target: ["es2020"],
  entryNames: "[name]-[hash]",
  outdir: out,
  metafile: true,
  legalComments: "none",
  logLevel: "warning",
});
const files = Object.keys(result.metafile.outputs).map((p) => basename(p));
const manifest = {
  js: files.find((f) => f.endsWith(".js")),
  css: files.find((f) => f.endsWith(".css")),
};
writeFileSync(out + "manifest.json", JSON.stringify(manifest, null, 2) + "\n");
console.log("dashboard:", readdirSync(out).join(" "));
