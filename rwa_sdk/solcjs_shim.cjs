// Speaks the native `solc` command line that py-solc-x (and Brownie through it) uses —
// `--version` and `--standard-json` — and serves it with solcjs, the WASM build from npm.
// Usage: node solcjs_shim.cjs <solc package dir> <version string> [solc args...]
"use strict";
const fs = require("fs");
const path = require("path");

const [solcDir, versionString, ...args] = process.argv.slice(2);

function optionValues(name) {
  const values = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name && i + 1 < args.length) values.push(...args[i + 1].split(","));
  }
  return values;
}

if (args.includes("--version")) {
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${versionString}\n`);
  process.exit(0);
}

if (!args.includes("--standard-json")) {
  process.stderr.write("solcjs shim: only --version and --standard-json are supported\n");
  process.exit(1);
}

// Imports the input does not carry are looked up like native solc does: base path, include paths,
// then node_modules of the working directory (npm packages such as @openzeppelin/contracts).
const roots = [...optionValues("--base-path"), ...optionValues("--include-path"), ".", "node_modules"];
function findImports(unitName) {
  for (const root of roots) {
    const candidate = path.resolve(root, unitName);
    if (fs.existsSync(candidate)) return { contents: fs.readFileSync(candidate, "utf8") };
  }
  return { error: `File not found: ${unitName} (searched ${roots.join(", ")})` };
}

const input = fs.readFileSync(0, "utf8");
const solc = require(path.resolve(solcDir));
process.stdout.write(solc.compile(input, { import: findImports }));
