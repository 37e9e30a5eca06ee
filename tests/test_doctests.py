"""Every ``>>>`` example in the source runs, and shows what it says."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import optiply
import tap_optiply
import target_optiply


def modules() -> list[str]:
    names = []
    for package in (optiply, target_optiply, tap_optiply):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if ".migrations." not in info.name and not info.name.endswith(".__main__"):
                names.append(info.name)
    return sorted(names)


MODULES = modules()


@pytest.mark.parametrize("name", MODULES)
def test_the_examples_of_a_module_hold(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, report=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_the_examples_are_found():
    found = 0
    finder = doctest.DocTestFinder()
    for name in MODULES:
        found += sum(len(test.examples) for test in finder.find(importlib.import_module(name)))
    assert found >= 50
