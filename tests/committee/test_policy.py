"""The quorum policy as configured in config/quorum.toml (pure: no database)."""

from pathlib import Path

import pytest

from ledger.committee.policy import CastVote, PolicyError, load_policy, parse_policy
from ledger.money import Money

POLICY = load_policy(Path(__file__).resolve().parents[2] / "config" / "quorum.toml")


def approve(institution, chair=False):
    return CastVote("approve", institution, chair)


@pytest.mark.parametrize(
    ("amount", "tier"),
    [
        ("0.01", "up to 250,000"),
        ("250000.00", "up to 250,000"),
        ("250000.01", "up to 5,000,000"),
        ("5000000.00", "up to 5,000,000"),
        ("5000000.01", "above 5,000,000"),
    ],
)
def test_tier_boundaries_are_inclusive_to_the_cent(amount, tier):
    assert POLICY.tier_for(Money.parse(amount, "USD")).name == tier


def test_small_request_needs_two_approvals():
    tier = POLICY.tier_for(Money.parse("1000.00", "USD"))
    assert POLICY.decide(tier, [approve("UN")]).status == "pending"
    assert POLICY.decide(tier, [approve("UN"), approve("UN")]).status == "approved"


def test_middle_tier_needs_two_institutions():
    tier = POLICY.tier_for(Money.parse("1000000.00", "USD"))
    same = POLICY.decide(tier, [approve("Egypt"), approve("Egypt"), approve("Egypt")])
    assert same.status == "pending"
    assert same.missing == ["approvals from 1 more institution(s)"]
    mixed = POLICY.decide(tier, [approve("Egypt"), approve("Egypt"), approve("UN")])
    assert mixed.status == "approved"


def test_top_tier_needs_the_chair_and_three_institutions():
    tier = POLICY.tier_for(Money.parse("6000000.00", "USD"))
    no_chair = [approve("Egypt"), approve("UN"), approve("EU"), approve("Qatar")]
    outcome = POLICY.decide(tier, no_chair)
    assert outcome.status == "pending"
    assert outcome.missing == ["the chair's approval"]
    with_chair = [approve("Egypt", chair=True), approve("UN"), approve("EU"), approve("Qatar")]
    assert POLICY.decide(tier, with_chair).status == "approved"
    two_institutions = [approve("Egypt", True), approve("Egypt"), approve("UN"), approve("UN")]
    assert POLICY.decide(tier, two_institutions).status == "pending"


def test_one_rejection_vetoes():
    tier = POLICY.tier_for(Money.parse("1000.00", "USD"))
    votes = [approve("UN"), CastVote("reject", "EU", False)]
    assert POLICY.decide(tier, votes).status == "rejected"


def test_policy_needs_an_open_last_tier():
    with pytest.raises(PolicyError):
        parse_policy(
            {
                "version": "x",
                "tiers": [{"name": "a", "up_to": "10.00", "approvals": 1}],
            }
        )
