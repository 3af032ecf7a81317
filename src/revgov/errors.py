"""The revgov error tree.

Every error carries a stable ``code`` that scripts and tests can match on; messages say what
failed, the offending value and the fix. The CLI prints ``[code] message`` (plus ``hint``) and
exits non-zero; ``--debug`` adds the traceback.

::

    RevgovError                      RG000
    ├── ConfigError                  RG100
    │   ├── ConfigSyntaxError        RG101  the TOML cannot be parsed
    │   ├── ConfigValidationError    RG102  a key is unknown, missing or of the wrong type
    │   ├── ConfigNotFoundError      RG103
    │   └── ConfigMismatchError      RG104  (--strict) the config is not the one the snapshot
    │                                       was pulled with
    ├── ModelError                   RG200
    │   ├── UnknownEntityError       RG201
    │   └── SchemaMismatchError      RG202  a page lacks a required column
    ├── StoreError                   RG300
    │   ├── SnapshotNotFoundError    RG301
    │   ├── SnapshotCorruptError     RG302
    │   ├── DemoOutputExistsError    RG303  `revgov demo --out` names a non-empty directory
    │   ├── ConcurrentWriteError     RG304  another writer changed what this one was writing
    │   ├── ShrinkRefusedError       RG305  a full refresh would remove too many rows
    │   ├── SnapshotVersionError     RG306  no such version (or its files were vacuumed)
    │   └── SnapshotWriteError       RG307  the snapshot directory cannot be written
    ├── ConnectorError               RG400
    │   ├── UnknownConnectorError    RG401
    │   ├── SourceNotFoundError      RG402  an export file is missing
    │   ├── MappingError             RG403  a mapped column is not in the source
    │   ├── ExportFormatError        RG404  an export is not a readable CSV/Parquet file
    │   ├── ExportEncodingError      RG405  an export's bytes are not in its declared encoding
    │   ├── AuthenticationError      RG410
    │   ├── RateLimitedError         RG411  still rate-limited after every retry
    │   ├── VendorRequestError       RG412  a vendor 4xx that retrying cannot fix
    │   ├── ApiBudgetError           RG413  stopped before passing the API budget (state saved)
    │   └── VendorUnavailableError   RG414  5xx or connection errors after every retry
    ├── RuleError                    RG500
    │   ├── RuleDefinitionError      RG501  unknown field, bad regex or template
    │   └── FindingsError            RG502  raised by Report.raise_for_findings
    ├── MetricError                  RG600
    │   ├── MetricInputError         RG601  a KPI was given a frame it cannot use
    │   └── PlayError                RG602  a play cannot be measured (unknown play, column)
    └── OutputError                  RG700  reports, run history, databases, alerts
        ├── RunNotFoundError         RG701  no recorded run matches a run id
        ├── DatabaseOutputError      RG702  `--to` names a bad URL, or the database refused
        ├── NotifyError              RG703  the alert webhook failed or is not configured
        └── OutputWriteError         RG704  an output file cannot be written (missing folder,
                                            no permission)

Warnings (never errors) derive from :class:`RevgovWarning`, e.g. a connector plugin that
fails to load is skipped with a :class:`PluginWarning`.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "ApiBudgetError",
    "AuthenticationError",
    "ConcurrentWriteError",
    "ConfigError",
    "ConfigMismatchError",
    "ConfigNotFoundError",
    "ConfigSyntaxError",
    "ConfigValidationError",
    "ConnectorError",
    "DatabaseOutputError",
    "DemoOutputExistsError",
    "ExportEncodingError",
    "ExportFormatError",
    "FindingsError",
    "MappingError",
    "MetricError",
    "MetricInputError",
    "ModelError",
    "NotifyError",
    "OutputError",
    "OutputWriteError",
    "PlayError",
    "PluginWarning",
    "RateLimitedError",
    "RevgovError",
    "RevgovWarning",
    "RuleDefinitionError",
    "RuleError",
    "RunNotFoundError",
    "SchemaMismatchError",
    "ShrinkRefusedError",
    "SnapshotCorruptError",
    "SnapshotNotFoundError",
    "SnapshotVersionError",
    "SnapshotWriteError",
    "SourceNotFoundError",
    "StoreError",
    "UnknownConnectorError",
    "UnknownEntityError",
    "VendorRequestError",
    "VendorUnavailableError",
]


class RevgovError(Exception):
    """Base of every error revgov raises on purpose."""

    code: ClassVar[str] = "RG000"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  fix: {self.hint}"
        return self.message

    def render(self) -> str:
        """One block of text for terminals: ``[code] message`` and the fix."""
        return f"[{self.code}] {self}"


class ConfigError(RevgovError):
    code = "RG100"


class ConfigSyntaxError(ConfigError):
    code = "RG101"


class ConfigValidationError(ConfigError):
    code = "RG102"


class ConfigNotFoundError(ConfigError):
    code = "RG103"


class ConfigMismatchError(ConfigError):
    """With ``--strict``: the config in use is not the one the snapshot was pulled with."""

    code = "RG104"


class ModelError(RevgovError):
    code = "RG200"


class UnknownEntityError(ModelError):
    code = "RG201"


class SchemaMismatchError(ModelError):
    code = "RG202"


class StoreError(RevgovError):
    code = "RG300"


class SnapshotNotFoundError(StoreError):
    code = "RG301"


class SnapshotCorruptError(StoreError):
    code = "RG302"


class DemoOutputExistsError(StoreError):
    code = "RG303"


class ConcurrentWriteError(StoreError):
    code = "RG304"


class ShrinkRefusedError(StoreError):
    code = "RG305"


class SnapshotVersionError(StoreError):
    code = "RG306"


class SnapshotWriteError(StoreError):
    """The snapshot's directory cannot be created or written (read-only, not a directory)."""

    code = "RG307"


class ConnectorError(RevgovError):
    code = "RG400"


class UnknownConnectorError(ConnectorError):
    code = "RG401"


class SourceNotFoundError(ConnectorError):
    code = "RG402"


class MappingError(ConnectorError):
    code = "RG403"


class ExportFormatError(ConnectorError):
    """An export file cannot be read as its format says: binary or empty, a header without
    rows, duplicate column names, a wrong separator, broken quoting, or not Parquet."""

    code = "RG404"


class ExportEncodingError(ConnectorError):
    """An export's bytes are not valid in the encoding it is read with."""

    code = "RG405"


class AuthenticationError(ConnectorError):
    code = "RG410"


class RateLimitedError(ConnectorError):
    code = "RG411"


class VendorRequestError(ConnectorError):
    code = "RG412"


class ApiBudgetError(ConnectorError):
    code = "RG413"


class VendorUnavailableError(ConnectorError):
    code = "RG414"


class RuleError(RevgovError):
    code = "RG500"


class RuleDefinitionError(RuleError):
    code = "RG501"


class FindingsError(RuleError):
    code = "RG502"


class MetricError(RevgovError):
    code = "RG600"


class MetricInputError(MetricError):
    code = "RG601"


class PlayError(MetricError):
    """A play cannot be measured: no such play, a filter names a missing column, or a frame
    the play's KPIs read is missing."""

    code = "RG602"


class OutputError(RevgovError):
    code = "RG700"


class RunNotFoundError(OutputError):
    code = "RG701"


class DatabaseOutputError(OutputError):
    code = "RG702"


class NotifyError(OutputError):
    code = "RG703"


class OutputWriteError(OutputError):
    """An output file (findings, report) cannot be written where it was asked for."""

    code = "RG704"


class RevgovWarning(UserWarning):
    """Base of every warning revgov emits."""


class PluginWarning(RevgovWarning):
    """A third-party plugin (entry point) could not be loaded and was skipped."""
