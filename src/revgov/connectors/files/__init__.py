"""The files connector: CSV and Parquet exports of any CRM (see :mod:`.client`)."""

from __future__ import annotations

from revgov.connectors.files.client import FileCursor, FilesConnector
from revgov.connectors.files.settings import FileEntitySettings, FilesSettings

__all__ = ["FileCursor", "FileEntitySettings", "FilesConnector", "FilesSettings"]
