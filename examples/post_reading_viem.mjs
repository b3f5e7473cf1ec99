// A device client in JavaScript: sign a meter reading with viem (EIP-712) and post it to the ingest API.
//
//   node examples/post_reading_viem.mjs --ingest http://127.0.0.1:8787 --rpc http://127.0.0.1:8545 \
//     --oracle 0xORACLE --key 0xDEVICE_PRIVATE_KEY --asset 0xASSET_ID --seq 1 \
//     --start 1767225600 --end 1767226500 --energy 1200 --meter 987654
//
// The EIP-712 domain is read from the oracle itself (ERC-5267 eip712Domain()), and uint64 values travel
// as BigInt and are sent as decimal / 0x-hex strings, so nothing is rounded to a JS number.
// Prints the ingest API's answer as JSON; exits 1 if the reading was not acknowledged.
import { createPublicClient, http, parseAbi } from "viem";
import { privateKeyToAccount } from "viem/accounts";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, word, i, all) => (word.startsWith("--") ? [...pairs, [word.slice(2), all[i + 1]]] : pairs), []),
);
for (const name of ["ingest", "rpc", "oracle", "key", "asset", "seq", "start", "end", "energy", "meter"]) {
  if (args[name] === undefined) {
    console.error(`error: --${name} is required`);
    process.exit(2);
  }
}

const client = createPublicClient({ transport: http(args.rpc) });
const [, name, version, chainId, verifyingContract] = await client.readContract({
  address: args.oracle,
  abi: parseAbi([
    "function eip712Domain() view returns (bytes1 fields, string name, string version, uint256 chainId, address verifyingContract, bytes32 salt, uint256[] extensions)",
  ]),
  functionName: "eip712Domain",
});

const account = privateKeyToAccount(args.key);
const message = {
  device: account.address,
  assetId: args.asset,
  seq: BigInt(args.seq),
  periodStart: BigInt(args.start),
  periodEnd: BigInt(args.end),
  energyWh: BigInt(args.energy),
  meterWh: BigInt(args.meter),
  flags: Number(args.flags ?? 0),
};
const signature = await account.signTypedData({
  domain: { name, version, chainId, verifyingContract },
  types: {
    Reading: [
      { name: "device", type: "address" },
      { name: "assetId", type: "bytes32" },
      { name: "seq", type: "uint64" },
      { name: "periodStart", type: "uint64" },
      { name: "periodEnd", type: "uint64" },
      { name: "energyWh", type: "uint64" },
      { name: "meterWh", type: "uint64" },
      { name: "flags", type: "uint32" },
    ],
  },
  primaryType: "Reading",
  message,
});

const item = {
  device: message.device,
  assetId: message.assetId,
  seq: message.seq.toString(), // decimal string
  periodStart: message.periodStart.toString(),
  periodEnd: message.periodEnd.toString(),
  energyWh: "0x" + message.energyWh.toString(16), // 0x-hex string
  meterWh: "0x" + message.meterWh.toString(16),
  flags: message.flags, // a JSON number
  signature,
};
const response = await fetch(new URL("/v1/readings", args.ingest), {
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify([item]),
});
const answer = await response.json();
console.log(JSON.stringify(answer));
process.exit(response.ok && answer.rejected === 0 ? 0 : 1);
