"""``rwa investor ...`` and ``rwa token ...``."""

from __future__ import annotations

import csv
import json

from eth_account import Account

from rwa_sdk.settlement.stablecoin import UNIT

from .conftest import DAY, investor


def test_add_one_investor_then_mint_and_list_the_cap_table(rwa, sun5, tmp_path):
    wallet = Account.create().address
    added = rwa("investor", "add", wallet, "--asset", "SUN5", "--country", "ES", "--risk-tier", "4", "--json")
    assert added.exit_code == 0, added.output
    [row] = json.loads(added.stdout)
    assert row["wallet"] == wallet and sun5.token.registry.contains(wallet)
    assert sun5.eligibility(wallet, 1_000) == ()
    minted = rwa("token", "mint", wallet, "1000", "--asset", "SUN5", "--json")
    assert minted.exit_code == 0, minted.output
    assert json.loads(minted.stdout)["balance"] == 1_000 == sun5.token.balance_of(wallet)
    listed = rwa("investor", "list", "--asset", "SUN5", "--json", "--csv", tmp_path / "cap.csv")
    assert json.loads(listed.stdout) == [{"wallet": wallet, "balance": 1000, "frozen": False, "frozen_tokens": 0,
                                          "country": 724}]
    assert list(csv.DictReader((tmp_path / "cap.csv").open()))[0]["wallet"] == wallet
    table = rwa("investor", "list", "--asset", "SUN5")
    assert wallet in table.stdout and "1000" in table.stdout


def test_add_investors_from_csv_registers_each_with_its_claims(rwa, sun5, tmp_path):
    wallets = [Account.create().address for _ in range(3)]
    path = tmp_path / "investors.csv"
    path.write_text("wallet,country,risk_tier,professional\n"
                    f"{wallets[0]},ES,4,no\n{wallets[1]},DE,3,yes\n{wallets[2]},DE,3,no\n")
    result = rwa("investor", "add", "--asset", "SUN5", "--file", path, "--json")
    assert result.exit_code == 0, result.output
    assert [r["wallet"] for r in json.loads(result.stdout)] == wallets
    assert all(sun5.token.registry.contains(w) for w in wallets)
    assert sun5.eligibility(wallets[1], 100) == ()  # professional from a professional-only country
    assert any("professional" in r.lower() for r in sun5.eligibility(wallets[2], 100))


def test_a_bad_csv_row_is_named_by_line_and_nothing_is_sent(rwa, sun5, tmp_path):
    good = Account.create().address
    path = tmp_path / "investors.csv"
    path.write_text(f"wallet,country,risk_tier\n{good},ES,4\n0x1234,ES,4\n")
    result = rwa("investor", "add", "--asset", "SUN5", "--file", path)
    assert result.exit_code == 1 and "line 3" in result.stderr
    assert not sun5.token.registry.contains(good)


def test_can_transfer_says_allowed_with_exit_code_0(rwa, sun5):
    seller, buyer = investor(sun5), investor(sun5, "PT", 3)
    sun5.token.mint(seller.address, 2_000, sender=sun5.roles.agent)
    sun5.chain.mine(91 * DAY)  # past the 90-day lock-up
    result = rwa("token", "can-transfer", seller.address, buyer.address, "500", "--asset", "SUN5")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("allowed")


def test_can_transfer_names_each_failing_rule_with_exit_code_1(rwa, sun5):
    seller, low_tier = investor(sun5), investor(sun5, "FR", 2)
    sun5.token.mint(seller.address, 2_000, sender=sun5.roles.agent)
    sun5.chain.mine(91 * DAY)
    result = rwa("token", "can-transfer", seller.address, low_tier.address, "5000", "--asset", "SUN5")
    assert result.exit_code == 1
    assert result.stdout.startswith("refused")
    assert "holds 2000, less than 5000" in result.stdout and "risk" in result.stdout.lower()
    as_json = json.loads(rwa("token", "can-transfer", seller.address, low_tier.address, "5000", "--asset", "SUN5",
                             "--json").stdout)
    assert as_json["allowed"] is False and len(as_json["reasons"]) >= 2


def test_can_transfer_from_the_zero_address_asks_about_issuance(rwa, sun5):
    eligible, low_tier = investor(sun5), investor(sun5, "FR", 2)
    zero = "0x" + "00" * 20
    allowed = rwa("token", "can-transfer", zero, eligible.address, "1000", "--asset", "SUN5")
    assert allowed.exit_code == 0, allowed.output
    refused = rwa("token", "can-transfer", zero, low_tier.address, "1000", "--asset", "SUN5")
    assert refused.exit_code == 1 and "risk tier 2" in refused.stdout and "holds 0" not in refused.stdout


def test_can_transfer_during_the_lockup_is_refused(rwa, sun5):
    seller, buyer = investor(sun5), investor(sun5, "PT", 3)
    sun5.token.mint(seller.address, 2_000, sender=sun5.roles.agent)
    result = rwa("token", "can-transfer", seller.address, buyer.address, "500", "--asset", "SUN5")
    assert result.exit_code == 1 and "lock" in result.stdout.lower()


def test_minting_to_an_unverified_wallet_is_refused_with_the_reasons(rwa, sun5):
    stranger = Account.create().address
    result = rwa("token", "mint", stranger, "100", "--asset", "SUN5")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: refused: 100 SUN5 may not be issued to {stranger}: ")
    assert "not a verified investor" in result.stderr or "not verified" in result.stderr
    assert "Traceback" not in result.output and sun5.token.balance_of(stranger) == 0


def test_holder_transfer_and_agent_forced_transfer_and_burn(rwa, sun5):
    seller, buyer = investor(sun5), investor(sun5, "PT", 3)
    sun5.token.mint(seller.address, 2_000, sender=sun5.roles.agent)
    sun5.chain.mine(91 * DAY)
    result = rwa("token", "transfer", buyer.address, "500", "--asset", "SUN5", key=seller)
    assert result.exit_code == 0, result.output
    forced = rwa("token", "transfer", seller.address, "200", "--from", buyer.address, "--asset", "SUN5", "--json")
    assert json.loads(forced.stdout)["forced"] is True
    burned = rwa("token", "burn", seller.address, "100", "--asset", "SUN5")
    assert burned.exit_code == 0, burned.output
    assert (sun5.token.balance_of(seller.address), sun5.token.balance_of(buyer.address)) == (1_600, 300)


def test_freeze_and_unfreeze_a_wallet(rwa, sun5):
    holder = investor(sun5)
    result = rwa("investor", "freeze", holder.address, "--asset", "SUN5", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["frozen"] is True and sun5.token.is_frozen(holder.address)
    refused = rwa("token", "can-transfer", holder.address, holder.address, "1", "--asset", "SUN5")
    assert refused.exit_code == 1 and "frozen" in refused.stdout
    assert rwa("investor", "freeze", holder.address, "--unfreeze", "--asset", "SUN5").exit_code == 0
    assert not sun5.token.is_frozen(holder.address)


def test_without_dev_accounts_a_url_needs_a_key(session_chain, records, sun5):
    from click.testing import CliRunner

    from rwa_sdk.cli import main

    result = CliRunner().invoke(main, ["investor", "freeze", Account.create().address, "--asset", "SUN5",
                                       "--network", session_chain.node.url, "--deployments", str(records)],
                                env={"RWA_PRIVATE_KEY": None, "RWA_KEYSTORE": None})
    assert result.exit_code == 1 and "no signing key" in result.stderr


def test_read_only_commands_need_no_key(session_chain, records, sun5):
    from click.testing import CliRunner

    from rwa_sdk.cli import main

    holder = investor(sun5)
    sun5.token.mint(holder.address, 700, sender=sun5.roles.agent)
    where = ["--asset", "SUN5", "--network", session_chain.node.url, "--deployments", str(records), "--json"]
    env = {"RWA_PRIVATE_KEY": None, "RWA_KEYSTORE": None}
    listed = CliRunner().invoke(main, ["investor", "list", *where], env=env)
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout)[0]["balance"] == 700
    check = CliRunner().invoke(main, ["token", "can-transfer", holder.address, holder.address, "701", *where], env=env)
    assert check.exit_code == 1 and json.loads(check.stdout)["allowed"] is False


def test_recover_moves_tokens_and_accrued_revenue_to_the_investors_new_wallet(rwa, sun5, tmp_path):
    from rwa_sdk.identity import Identity, KeyPurpose

    from .test_settle_revenue import produce

    lost, new = Account.create(), Account.create()
    sun5.chain.send_value(lost.address, 10**18)
    added = rwa("investor", "add", lost.address, "--asset", "SUN5", "--country", "ES", "--risk-tier", "4", "--json")
    identity = json.loads(added.stdout)[0]["identity"]
    sun5.token.mint(lost.address, 1_000, sender=sun5.roles.agent)
    start = produce(sun5, tmp_path / "oracle.db", days=1)
    treasury = sun5.roles.treasury
    sun5.stablecoin.mint(treasury.address, 10**6 * UNIT, sender=treasury)  # funds the revenue
    sun5.deposit_revenue(start, start + DAY)
    accrued = sun5.distributor.claimable(lost.address)
    Identity(sun5.chain, identity).add_key(new.address, KeyPurpose.MANAGEMENT, sender=lost)
    result = rwa("investor", "recover", lost.address, new.address, identity, "--asset", "SUN5", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["revenue_moved"] == accrued > 0
    assert (sun5.token.balance_of(lost.address), sun5.token.balance_of(new.address)) == (0, 1_000)
    assert (sun5.distributor.claimable(lost.address), sun5.distributor.claimable(new.address)) == (0, accrued)


def test_dev_accounts_are_refused_on_a_chain_that_is_not_a_dev_chain(records):
    from click.testing import CliRunner

    from rwa_sdk.anvil import AnvilNode
    from rwa_sdk.cli import main

    with AnvilNode(chain_id=4242) as node:
        result = CliRunner().invoke(main, ["asset", "list", "--network", node.url, "--dev-accounts",
                                           "--deployments", str(records)])
    assert result.exit_code == 1 and "refused on chain 4242" in result.stderr
