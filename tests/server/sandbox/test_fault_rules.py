"""Which fault rule fires on which match: exact counts, seeded draws."""

from __future__ import annotations

import pytest

from optiply.server.sandbox.rules import Action, Rule


def fired(rule: Rule, matches: int) -> list[int]:
    return [n for n in range(1, matches + 1) if rule.fires(n)]


def test_times_fires_exactly_the_first_n_matches():
    assert fired(Rule(1, 1, Action.STATUS, status=503, times=2), 10) == [1, 2]


def test_every_fires_exactly_every_nth_match():
    assert fired(Rule(1, 1, Action.STATUS, status=503, every=3), 10) == [3, 6, 9]


def test_times_caps_how_often_every_fires():
    assert fired(Rule(1, 1, Action.DROP, every=2, times=2), 10) == [2, 4]
    assert fired(Rule(1, 1, Action.DROP, every=3, times=1), 10) == [3]


def test_a_plain_rule_fires_on_every_match():
    assert fired(Rule(1, 1, Action.DROP), 4) == [1, 2, 3, 4]


def test_a_seeded_probability_is_the_same_sequence_every_time():
    rule = Rule(7, 1, Action.STATUS, status=500, probability=0.3, seed=42)
    again = Rule(7, 1, Action.STATUS, status=500, probability=0.3, seed=42)
    other = Rule(7, 1, Action.STATUS, status=500, probability=0.3, seed=43)

    assert fired(rule, 1000) == fired(again, 1000)
    assert fired(rule, 1000) != fired(other, 1000)
    assert 250 <= len(fired(rule, 1000)) <= 350


@pytest.mark.parametrize(
    ("method", "path", "request_method", "request_path", "expected"),
    [
        (None, "/v1/products*", "GET", "/v1/products/7", True),
        ("POST", "/v1/products", "post", "/v1/products", True),
        ("POST", "/v1/products", "GET", "/v1/products", False),
        (None, "/v1/products", "GET", "/v1/productCompositions", False),
        (None, "*", "DELETE", "/api/auth/oauth/token", True),
    ],
)
def test_matching(method, path, request_method, request_path, expected):
    assert (
        Rule(1, 1, Action.DROP, path=path, method=method).matches(request_method, request_path)
        is expected
    )


def test_jitter_stays_within_its_bounds_and_repeats():
    rule = Rule(1, 1, Action.LATENCY, latency_ms=100, jitter_ms=50, seed=3)
    delays = [rule.delay_ms(n) for n in range(1, 200)]
    assert all(100 <= d <= 150 for d in delays)
    assert delays == [rule.delay_ms(n) for n in range(1, 200)]
    assert max(delays) - min(delays) > 25
