// Hardhat 3 configuration for rwa-sdk (ESM: package.json has "type": "module").
//
// Builds every Solidity file under contracts/ with the solcjs 0.8.30 build that
// is vendored in node_modules/solc/soljson.js. Because `path` is set, Hardhat
// treats the compiler as user-provided and never tries to download solc.
//
// Outputs go to hh-artifacts/ and hh-cache/ so they never clash with the
// Python compiler, which owns artifacts/.
//
// Build:  node_modules/.bin/node node_modules/hardhat/dist/src/cli.js build
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.dirname(fileURLToPath(import.meta.url));
const SOLCJS_PATH = path.join(ROOT, "node_modules", "solc", "soljson.js");

// Keep these in sync with the Python compiler's solc settings.
// outputSelection is left to Hardhat's standard default (abi, bytecode,
// deployedBytecode, methodIdentifiers, metadata, ast, ...).
const solc0830 = {
  version: "0.8.30",
  path: SOLCJS_PATH,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: "cancun",
  },
};

/** @type {import("hardhat/config").HardhatUserConfig} */
export default {
  solidity: {
    // Both profiles are given explicitly: otherwise Hardhat derives
    // "production" from "default" but drops the custom settings (evmVersion).
    profiles: {
      default: { compilers: [solc0830] },
      production: { compilers: [solc0830] },
    },
  },
  paths: {
    sources: "contracts",
    artifacts: "hh-artifacts",
    cache: "hh-cache",
  },
};
