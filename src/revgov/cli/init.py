"""CLI: ``revgov init``: write a starting revgov.toml from a CRM or a folder of exports.

Each connector that can describe its source offers ``starting_config(folder, context) -> str``
on its class (a complete revgov.toml as text, with clearly marked places for the company's own
definitions): the CRM connectors read the org's or portal's describe, stages and properties;
the files connector recognises a vendor's export layout in a folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from revgov.cli._console import TerminalConsole
from revgov.config import config_from_text
from revgov.connectors import ConnectorContext, get_connector_spec
from revgov.errors import ConfigValidationError, ConnectorError

__all__ = ["init_cmd"]

console = TerminalConsole()


def _connector_name(
    folder: Path | None, salesforce: bool, hubspot: bool, connector: str | None
) -> str:
    chosen = [n for n, on in (("salesforce", salesforce), ("hubspot", hubspot)) if on]
    if connector:
        chosen.append(connector)
    if len(chosen) > 1:
        raise typer.BadParameter("choose one of --salesforce, --hubspot or --connector")
    if chosen:
        return chosen[0]
    if folder is None:
        raise typer.BadParameter(
            "name a folder of exports, or --salesforce / --hubspot to read a CRM"
        )
    return "files"


def init_cmd(
    folder: Annotated[
        Path | None,
        typer.Argument(help="A folder of CSV exports (Salesforce, HubSpot or any CRM's)."),
    ] = None,
    salesforce: Annotated[
        bool,
        typer.Option(
            "--salesforce", help="Describe a Salesforce org (credentials from the environment)."
        ),
    ] = False,
    hubspot: Annotated[
        bool,
        typer.Option("--hubspot", help="Describe a HubSpot portal (token from the environment)."),
    ] = False,
    connector: Annotated[
        str | None,
        typer.Option("--connector", help="Any other connector that can describe its source."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Where to write the config.")] = Path(
        "revgov.toml"
    ),
    force: Annotated[bool, typer.Option("--force", help="Overwrite --out if it exists.")] = False,
) -> None:
    """Write a starting revgov.toml: mappings, stages and marked places for your definitions."""
    name = _connector_name(folder, salesforce, hubspot, connector)
    if out.exists() and not force:
        raise ConfigValidationError(
            f"{out} exists already", hint="choose another --out, or pass --force to replace it"
        )
    spec = get_connector_spec(name)
    starting_config = getattr(spec, "starting_config", None)
    if not callable(starting_config):
        raise ConnectorError(
            f"the {name!r} connector cannot describe its source to write a starting config",
            hint="write revgov.toml by hand: see docs/config-guide.md",
        )
    text = str(starting_config(folder, ConnectorContext(out.resolve().parent)))
    config_from_text(text, path=out)  # what we write must load
    out.write_text(text, encoding="utf-8")
    console.print(f"wrote {out}: review the places marked TODO, then `revgov config check {out}`")
