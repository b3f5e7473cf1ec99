// Verify a reading against the chain from the browser: ABI-encode ReadingOracle.verifyReading and eth_call it
// over the node's RPC URL. The portal's server only hands over the proof; the answer comes from the chain.
"use strict";

// keccak256("verifyReading((address,bytes32,uint64,uint64,uint64,uint64,uint64,uint32),bytes,bytes32[],uint256)")[:4]
const VERIFY_SELECTOR = "0x3cba3a97";

function strip0x(hex, what) {
  if (typeof hex !== "string" || !/^0x[0-9a-fA-F]*$/.test(hex)) throw new Error(`${what} must be 0x-prefixed hex`);
  return hex.slice(2).toLowerCase();
}

function word(value, bits, what) {
  let n;
  try { n = BigInt(value); } catch (e) { throw new Error(`${what} must be a whole number`); }
  if (n < 0n || n >= (1n << BigInt(bits))) throw new Error(`${what} must fit in uint${bits}`);
  return n.toString(16).padStart(64, "0");
}

function fixed(hex, bytes, what) {
  const h = strip0x(hex, what);
  if (h.length !== bytes * 2) throw new Error(`${what} must be ${bytes} bytes`);
  return bytes === 32 ? h : h.padStart(64, "0");  // addresses are left-padded
}

function dynamicBytes(hex, what) {
  const h = strip0x(hex, what);
  if (h.length % 2) throw new Error(`${what} has an odd number of hex digits`);
  const padded = h.padEnd(Math.ceil(h.length / 64) * 64, "0");
  return word(h.length / 2, 256, what) + padded;
}

// calldata of verifyReading(reading, signature, proof, batchIndex); the Reading tuple is static (8 words inline)
function encodeVerifyReading(proof) {
  const r = proof.reading;
  if (!r || typeof r !== "object") throw new Error("reading must be an object");
  const tuple = [
    fixed(r.device, 20, "reading.device"), fixed(r.assetId, 32, "reading.assetId"),
    word(r.seq, 64, "reading.seq"), word(r.periodStart, 64, "reading.periodStart"),
    word(r.periodEnd, 64, "reading.periodEnd"), word(r.energyWh, 64, "reading.energyWh"),
    word(r.meterWh, 64, "reading.meterWh"), word(r.flags, 32, "reading.flags"),
  ].join("");
  if (!Array.isArray(proof.proof)) throw new Error("proof must be a list of 32-byte hashes");
  const signature = dynamicBytes(proof.signature, "signature");
  const path = word(proof.proof.length, 256, "proof length") +
    proof.proof.map((p, i) => fixed(p, 32, `proof[${i}]`)).join("");
  const head = 11 * 32;  // 8 tuple words + two offsets + batchIndex
  const sigOffset = head, pathOffset = head + signature.length / 2;
  return VERIFY_SELECTOR + tuple + word(sigOffset, 256, "offset") + word(pathOffset, 256, "offset") +
    word(proof.batchIndex, 256, "batchIndex") + signature + path;
}

// {valid: bool, detail: string}: the chain's own answer
async function verifyOnChain(rpcUrl, oracle, proof, errorNames) {
  const data = encodeVerifyReading(proof);
  const response = await fetch(rpcUrl, {
    method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({jsonrpc: "2.0", id: 1, method: "eth_call", params: [{to: oracle, data}, "latest"]}),
  });
  const answer = await response.json();
  if (answer.result !== undefined) {
    const ok = answer.result.length > 2 && BigInt(answer.result) === 1n;
    return {valid: ok, detail: ok ? "verifyReading returned true" : `verifyReading returned ${answer.result}`};
  }
  const err = answer.error || {};
  const raw = typeof err.data === "string" ? err.data : (err.data && err.data.data) || "";
  const name = raw.length >= 10 ? (errorNames[raw.slice(0, 10).toLowerCase()] || `error ${raw.slice(0, 10)}`) : "";
  return {valid: false, detail: `the chain refused: ${name || err.message || "reverted"}`};
}

if (typeof module !== "undefined") module.exports = {encodeVerifyReading, VERIFY_SELECTOR};
