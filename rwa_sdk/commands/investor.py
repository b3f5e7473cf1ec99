"""``rwa investor add|list|freeze|recover``: the agent's side of the investor register."""

from __future__ import annotations

import csv
from pathlib import Path

import click

from .common import CommandError, Target, asset_option, checksum, emit, emit_rows, handle_errors, json_option, \
    network_options, open_asset, progress, tx

BATCH = 20  # investors onboarded per SDK call (a progress step)
TRUE = {"1", "true", "yes", "y"}


@click.group("investor")
def investor_cli() -> None:
    """Onboard investors (identity + KYC claims), list the cap table, freeze and recover wallets."""


@investor_cli.command("add")
@click.argument("wallet", required=False)
@click.option("--country", help="ISO 3166-1 code, e.g. ES or 724.")
@click.option("--risk-tier", type=click.IntRange(1, 5), default=1, show_default=True)
@click.option("--professional", is_flag=True, help="Attest a professional-investor claim.")
@click.option("--kyc-reference", default="", help="The KYC provider's reference (stored hashed in the claim).")
@click.option("--file", "csv_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV with wallet,country[,risk_tier,professional,kyc_reference] (batch onboarding).")
@asset_option
@network_options
@json_option
@handle_errors
def add_cmd(wallet: str | None, country: str | None, risk_tier: int, professional: bool, kyc_reference: str,
            csv_path: Path | None, symbol: str, target: Target, as_json: bool) -> None:
    """Register WALLET (or every row of --file) with an identity and the KYC provider's claims."""
    from ..asset import InvestorProfile

    if csv_path is not None:
        if wallet:
            raise click.UsageError("give either WALLET or --file, not both")
        profiles = read_investors_csv(csv_path)
    elif wallet and country:
        profiles = [InvestorProfile(checksum(wallet), country, risk_tier, professional, kyc_reference)]
    else:
        raise click.UsageError("give WALLET with --country, or --file")
    for profile in profiles:
        profile.onboarding()  # a bad country fails before anything is sent
    with open_asset(target, symbol) as asset:
        identities: list[str] = []
        with progress() as bar:
            task = bar.add_task(f"onboarding into {symbol}", total=len(profiles))
            for start in range(0, len(profiles), BATCH):
                chunk = profiles[start:start + BATCH]
                identities += asset.onboard(chunk)
                bar.advance(task, len(chunk))
    rows = [{"wallet": p.wallet, "identity": identity, "country": p.country, "risk_tier": p.risk_tier,
             "professional": p.professional} for p, identity in zip(profiles, identities)]
    emit_rows(rows, as_json, f"{len(rows)} investor(s) onboarded")


def read_investors_csv(path: Path) -> list:
    """Investor profiles from a CSV; a bad row is reported with its line number."""
    from ..asset import InvestorProfile

    profiles = []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"wallet", "country"} - set(reader.fieldnames or ())
        if missing:
            raise CommandError(f"{path.name}: missing column(s) {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            try:
                tier = int(row.get("risk_tier") or 1)
            except ValueError:
                raise CommandError(f"{path.name} line {line}: risk_tier {row['risk_tier']!r} is not a number") from None
            if not 1 <= tier <= 5:
                raise CommandError(f"{path.name} line {line}: risk_tier must be 1..5, got {tier}")
            try:
                wallet = checksum(row["wallet"].strip())
            except CommandError as error:
                raise CommandError(f"{path.name} line {line}: {error.message}") from None
            profiles.append(InvestorProfile(wallet, row["country"].strip(), tier,
                                            (row.get("professional") or "").strip().lower() in TRUE,
                                            (row.get("kyc_reference") or "").strip()))
    if not profiles:
        raise CommandError(f"{path.name}: no investors")
    return profiles


@investor_cli.command("list")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), help="Also write the cap table here.")
@asset_option
@network_options
@json_option
@handle_errors
def list_cmd(csv_path: Path | None, symbol: str, target: Target, as_json: bool) -> None:
    """The cap table: every current holder, balance, frozen state and country."""
    from dataclasses import asdict

    with open_asset(target, symbol, read_only=True) as asset:
        holders = asset.cap_table()
        if csv_path is not None:
            asset.cap_table_csv(csv_path)
    from ..spec import country_label

    rows = [asdict(h) for h in holders]
    if not as_json:  # JSON keeps the registry's number; people read the code and name
        rows = [dict(row, country=country_label(row["country"])) for row in rows]
    emit_rows(rows, as_json, f"{symbol} cap table ({len(rows)} holders)",
              columns=("wallet", "balance", "frozen", "frozen_tokens", "country"))


@investor_cli.command("freeze")
@click.argument("wallet")
@click.option("--unfreeze", is_flag=True, help="Lift the freeze instead.")
@asset_option
@network_options
@json_option
@handle_errors
def freeze_cmd(wallet: str, unfreeze: bool, symbol: str, target: Target, as_json: bool) -> None:
    """Freeze WALLET (no transfers in or out) as the token agent."""
    wallet = checksum(wallet)
    with open_asset(target, symbol) as asset:
        sent = asset.token.set_frozen(wallet, not unfreeze, sender=asset.roles.agent)
        frozen = asset.token.is_frozen(wallet)
    emit({"wallet": wallet, "frozen": frozen, **tx(sent)}, as_json, "freeze")


@investor_cli.command("recover")
@click.argument("lost")
@click.argument("new")
@click.argument("identity")
@asset_option
@network_options
@json_option
@handle_errors
def recover_cmd(lost: str, new: str, identity: str, symbol: str, target: Target, as_json: bool) -> None:
    """Move LOST wallet's tokens and accrued revenue to NEW, a key of the investor's IDENTITY."""
    lost, new, identity = checksum(lost), checksum(new), checksum(identity)
    with open_asset(target, symbol) as asset:
        sent = asset.token.recover(lost, new, identity, sender=asset.roles.agent)
        accrued = asset.distributor.claimable(lost)
        if accrued:  # revenue earned before the loss follows the investor too
            asset.distributor.transfer_accrued(lost, new, sender=asset.roles.agent)
        balance = asset.token.balance_of(new)
    emit({"lost": lost, "new": new, "identity": identity, "balance": balance, "revenue_moved": accrued, **tx(sent)},
         as_json, "recovery")
