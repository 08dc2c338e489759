// Bundle segment.js and rudder.js with esbuild into the folder given as the first argument, for the
// browser tests. esbuild and the two libraries come from the SDK's node_modules (`make sdk`): run with
// NODE_PATH=src/clicklake/sdk/node_modules.
const path = require("node:path");
const { buildSync } = require("esbuild");

const out = process.argv[2];
const nodePaths = (process.env.NODE_PATH || "").split(path.delimiter).filter(Boolean);
for (const name of ["segment", "rudder"]) {
  buildSync({
    entryPoints: [path.join(__dirname, `${name}.js`)],
    outfile: path.join(out, `${name}.js`),
    bundle: true,
    format: "iife",
    target: ["es2020"],
    nodePaths,
    logLevel: "warning",
  });
}
