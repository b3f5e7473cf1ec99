"""``rwa oracle relay``: a relayer process of its own (ingest runs elsewhere), leader or standby."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from ..chain import ChainError, connect
from .leader import leadership_for
from .relayer import Relayer, RelayerConfig, check_relayer_role
from .store import open_store

log = logging.getLogger("rwa_sdk.oracle.relay")


def relay(rpc_url: str, oracle_address: str, db: str, config: RelayerConfig, *,
          stop: threading.Event | None = None) -> None:
    """Relay until SIGTERM/SIGINT (or ``stop``): stand by while another relayer of the store leads."""
    chain = connect(rpc_url)
    try:
        if not chain.accounts:
            raise ChainError("the relayer needs a signing key: set RWA_PRIVATE_KEY or RWA_KEYSTORE")
        oracle = chain.contract("ReadingOracle", oracle_address)
        check_relayer_role(chain, oracle, chain.accounts[0].address)
        store = open_store(db)
        try:
            relayer = Relayer(chain, oracle, store, chain.accounts[0], config, leadership=leadership_for(db))
            stop = stop or threading.Event()
            drain = threading.Event()
            if threading.current_thread() is threading.main_thread():
                def _signal(signum: int, _frame: Any) -> None:
                    log.info("signal %d: finishing the transaction in flight", signum)
                    drain.set()
                signal.signal(signal.SIGTERM, _signal)
                signal.signal(signal.SIGINT, _signal)
            relayer.run(stop, drain)
        finally:
            store.close()
    finally:
        chain.close()
