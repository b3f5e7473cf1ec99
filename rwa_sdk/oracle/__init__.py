"""Device oracle: signed meter readings, ingest API, durable queue, Merkle relayer, simulator.

Modules: ``reading`` (EIP-712 Reading, fast signing/recovery), ``merkle`` (StandardMerkleTree layout),
``mmr`` (each asset's mountain range of batches), ``batch_log`` (``BatchAnchored`` logs), ``proof``
(``verifyReading`` arguments), ``store`` (SQLite WAL queue), ``ingest`` (validation rules + HTTP API),
``relayer`` (batches on chain),
``simulator`` (PV/battery/charger devices), ``daemon`` (``run``, ``simulate``, ``proof``),
``contracts`` (deploy and register helpers).
"""
