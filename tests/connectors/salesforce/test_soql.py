"""SOQL comes from simple-salesforce's quoting formatter: values quoted, windows half-open."""

from __future__ import annotations

from datetime import UTC, datetime

from revgov.connectors.salesforce._soql import Window, count_query, ids_query, select_query


def test_values_are_quoted_by_the_formatter() -> None:
    window = Window(
        "SystemModstamp",
        datetime(2024, 1, 5, 10, 0, 0, 123_000, tzinfo=UTC),
        datetime(2024, 2, 1, tzinfo=UTC),
        after_id="00Q' OR Name != '",
    )
    soql = select_query("Lead", ["Id", "Email"], window)
    assert soql == (
        "SELECT Id, Email FROM Lead WHERE SystemModstamp >= 2024-01-05T10:00:00+00:00 AND "
        "SystemModstamp < 2024-02-01T00:00:00+00:00 AND Id > '00Q\\' OR Name != \\'' "
        "ORDER BY Id ASC"
    )
    assert count_query("Lead", Window("SystemModstamp", None, None)) == "SELECT COUNT() FROM Lead"
    assert ids_query("OpportunityHistory", ["Id"], "OpportunityId", ["006A", "006'B"]) == (
        "SELECT Id FROM OpportunityHistory WHERE OpportunityId IN ('006A','006\\'B')"
    )
