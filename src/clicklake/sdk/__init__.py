"""The browser SDK: JavaScript sources in `src/`, built by `make` into `dist/`, served at /sdk.js and /sdk.mjs."""
