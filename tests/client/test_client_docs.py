"""The docstring examples of ``optiply.client`` run and pass."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "optiply.client",
        "optiply.client.auth",
        "optiply.client.client",
        "optiply.client.documents",
        "optiply.client.errors",
        "optiply.client.paging",
        "optiply.client.retries",
        "optiply.client.send",
    ],
)
def test_docstring_examples(module: str) -> None:
    results = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert results.attempted > 0
    assert results.failed == 0
