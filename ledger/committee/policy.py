"""The committee's quorum policy (SPEC §4), read from ``config/quorum.toml``.

A policy is a list of tiers by amount in the fund's base currency. ``decide`` is
pure: given a tier and the votes so far it says whether the request is approved,
rejected, or still pending, and what is missing.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ledger.money import Money, MoneyError


class PolicyError(ValueError):
    """The policy file is not a valid quorum policy."""


@dataclass(frozen=True)
class Tier:
    name: str
    up_to: str | None  # decimal string in the fund's base currency; None: no ceiling
    approvals: int
    institutions: int
    chair: bool

    def covers(self, base_amount: Money) -> bool:
        if self.up_to is None:
            return True
        return base_amount.minor <= Money.parse(self.up_to, base_amount.currency).minor


@dataclass(frozen=True)
class CastVote:
    decision: str  # "approve" | "reject"
    institution: str
    is_chair: bool


@dataclass(frozen=True)
class Recusal:
    """Members who may not vote on a request (declared conflicts of interest), and
    what the rest of the committee can still provide."""

    recused_member_ids: frozenset[int]
    eligible_members: int
    eligible_institutions: int
    chair_eligible: bool


@dataclass(frozen=True)
class Requirement:
    approvals: int
    institutions: int
    chair: bool


@dataclass(frozen=True)
class Outcome:
    status: str  # "approved" | "rejected" | "pending"
    approvals: int
    rejections: int
    institutions: list[str]
    chair_approved: bool
    required: Requirement
    missing: list[str] = field(default_factory=list)
    recused_member_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class QuorumPolicy:
    version: str
    tiers: tuple[Tier, ...]
    rejections_to_veto: int

    def tier_for(self, base_amount: Money) -> Tier:
        for tier in self.tiers:
            if tier.covers(base_amount):
                return tier
        raise PolicyError("no tier covers the amount")  # the last tier has no ceiling

    @staticmethod
    def required(tier: Tier, recusal: Recusal | None = None) -> Requirement:
        """What the tier asks for, computed without recused members: when recusals
        leave fewer eligible members or institutions than the tier names, it asks
        for all that remain; a recused chair's approval is not required."""
        if recusal is None or not recusal.recused_member_ids:
            return Requirement(tier.approvals, tier.institutions, tier.chair)
        return Requirement(
            approvals=max(1, min(tier.approvals, recusal.eligible_members)),
            institutions=max(1, min(tier.institutions, recusal.eligible_institutions)),
            chair=tier.chair and recusal.chair_eligible,
        )

    def decide(
        self, tier: Tier, votes: Iterable[CastVote], recusal: Recusal | None = None
    ) -> Outcome:
        votes = list(votes)
        need = self.required(tier, recusal)
        recused = sorted(recusal.recused_member_ids) if recusal else []
        approving = [v for v in votes if v.decision == "approve"]
        rejections = sum(1 for v in votes if v.decision == "reject")
        institutions = sorted({v.institution for v in approving})
        chair = any(v.is_chair for v in approving)
        if rejections >= self.rejections_to_veto:
            return Outcome(
                "rejected",
                len(approving),
                rejections,
                institutions,
                chair,
                need,
                recused_member_ids=recused,
            )
        missing = []
        if len(approving) < need.approvals:
            missing.append(f"{need.approvals - len(approving)} more approval(s)")
        if len(institutions) < need.institutions:
            missing.append(
                f"approvals from {need.institutions - len(institutions)} more institution(s)"
            )
        if need.chair and not chair:
            missing.append("the chair's approval")
        status = "pending" if missing else "approved"
        return Outcome(
            status, len(approving), rejections, institutions, chair, need, missing, recused
        )


def parse_policy(data: dict[str, object]) -> QuorumPolicy:
    try:
        version = str(data["version"])
        veto = int(data.get("rejections_to_veto", 1))  # type: ignore[call-overload]
        raw_tiers = data["tiers"]
        assert isinstance(raw_tiers, list) and raw_tiers
        tiers = []
        for raw in raw_tiers:
            up_to = raw.get("up_to")
            if up_to is not None:
                Money.parse(str(up_to), "USD")  # a decimal with at most two places
            tiers.append(
                Tier(
                    name=str(raw["name"]),
                    up_to=None if up_to is None else str(up_to),
                    approvals=int(raw["approvals"]),
                    institutions=int(raw.get("institutions", 1)),
                    chair=bool(raw.get("chair", False)),
                )
            )
    except (KeyError, TypeError, ValueError, AssertionError, MoneyError) as exc:
        raise PolicyError(f"invalid quorum policy: {exc!r}") from exc
    if any(t.up_to is None for t in tiers[:-1]) or tiers[-1].up_to is not None:
        raise PolicyError("only the last tier, and it alone, has no 'up_to'")
    if veto < 1 or any(t.approvals < 1 or t.institutions < 1 for t in tiers):
        raise PolicyError("approvals, institutions and rejections_to_veto must be at least 1")
    return QuorumPolicy(version, tuple(tiers), veto)


def load_policy(path: str | Path) -> QuorumPolicy:
    with open(path, "rb") as f:
        return parse_policy(tomllib.load(f))
