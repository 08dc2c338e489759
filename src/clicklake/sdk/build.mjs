// Build dist/sdk.js (a classic script for the tag) and dist/sdk.mjs (an ES module), minified.
import { readFileSync } from "node:fs";
import { build } from "esbuild";

const here = new URL(".", import.meta.url).pathname;
const { version } = JSON.parse(readFileSync(here + "package.json", "utf8"));
const common = {
  bundle: true,
  minify: true,
  target: ["es2020"],
  define: { __VERSION__: JSON.stringify(version) },
  legalComments: "none",
  logLevel: "warning",
};
await build({ ...common, entryPoints: [here + "src/tag.js"], format: "iife", outfile: here + "dist/sdk.js" });
await build({ ...common, entryPoints: [here + "src/index.js"], format: "esm", outfile: here + "dist/sdk.mjs" });
