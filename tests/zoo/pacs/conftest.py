"""The PACS tests' client of the session's Orthanc (``orthanc`` in tests/conftest.py)."""

from __future__ import annotations

import pytest

from zoo.pacs import PacsClient, PacsSettings


@pytest.fixture
def client(orthanc) -> PacsClient:
    return PacsClient(PacsSettings(orthanc.dicomweb, user=orthanc.user, password=orthanc.password))
