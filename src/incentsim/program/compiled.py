"""A program compiled to typed terms, one row per partner group (segment x region).

:func:`compile_program` is the one source of program terms: the engine, the partner's
anticipation, the rules engine and the payout statements read the :class:`CompiledProgram` it
returns and never the :class:`~incentsim.program.spec.Program` it was compiled from.

Segment and region overrides change values, never structure, so every group has the same tiers,
accelerators, SPIFFs and milestones; their parameters become arrays with a leading group axis
(:class:`GroupTerms`) that the rules engine gathers per partner with ``array[group]``
(:class:`PartnerTerms`). The budget and the reserve are one program-wide pool
(:class:`BudgetTerms`); everything else, the payout schedule included, can differ by group.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from incentsim.groups import Groups
from incentsim.program.awards import AwardTerms, compile_awards
from incentsim.program.horizons import (
    horizon_accelerators,
    horizon_terms,
    period_accelerators,
)
from incentsim.program.spec import Budget, Program
from incentsim.program.windows import bonus_terms, window_weeks

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: Components whose payout a customer-satisfaction gate can scale, in column order.
GATEABLE = ("rebate", "accelerators", "spiffs", "co_sell", "milestones")

#: Tolerance on tier requirements: a metric within it of a requirement meets it.
REQUIREMENT_TOLERANCE = 1e-9

#: SPIFF deal types, in the order of their codes in :attr:`GroupTerms.spiff_deal_type`.
DEAL_TYPES = ("any", "new_logo", "renewal")

#: Effects of a tier's non-financial benefits, each summed over the tier's benefits.
BENEFIT_EFFECTS = ("win_rate_uplift", "deal_size_uplift", "ramp_speedup", "loyalty_uplift")

_Memo = TypeVar("_Memo")


def _cap(value: float | None) -> float:
    return np.inf if value is None else float(value)


def _frozen(value: NDArray[Any]) -> NDArray[Any]:
    """``value``, made read-only."""
    value.setflags(write=False)
    return value


def _read_only(value: object) -> bool:
    """True when nothing can write to the array ``value``'s memory: it and every array it is a
    view of are read-only, down to the array owning the memory."""
    while isinstance(value, np.ndarray):
        if value.flags.writeable:
            return False
        if value.base is None:
            return True
        value = value.base
    return False


class _Seen:
    """An array's values when something was derived from it, to tell whether they changed.

    A read-only array (:func:`_read_only`) cannot change, so being the same object is enough;
    any other array is compared with a private copy of its values.
    """

    def __init__(self, value: NDArray[Any]) -> None:
        self.value = value
        self._copy = None if _read_only(value) else np.array(value, copy=True)

    def holds(self, value: NDArray[Any] | None) -> bool:
        """True when ``value`` has the values seen."""
        if value is None:
            return False
        if self._copy is None:
            return value is self.value
        return np.array_equal(value, self._copy)


@dataclass(frozen=True)
class GroupTerms:
    """Every program term that can differ between partner groups, as read-only arrays with a
    leading group axis ``G``; per tier ``(G, T)``, per accelerator ``(G, A)``, per SPIFF
    ``(G, S)``, per milestone ``(G, M)``. Money is in currency units per period; ``inf`` stands
    for "no cap"."""

    # tiers (G, T)
    req_revenue: FloatArray
    req_new_logos: FloatArray
    req_certified_staff: FloatArray
    req_csat: FloatArray
    rebate_rate: FloatArray
    mdf_rate: FloatArray
    # non-financial benefits by tier (G, T): effects summed over the tier's benefits, and what
    # they cost the vendor per partner holding the tier per period
    benefit_win_rate_uplift: FloatArray
    benefit_deal_size_uplift: FloatArray
    benefit_ramp_speedup: FloatArray
    benefit_loyalty_uplift: FloatArray
    benefit_cost: FloatArray
    # evaluation and rebate (G,)
    cadence: IntArray
    lookback: IntArray
    grace: IntArray
    maintain_fraction: FloatArray
    marginal: BoolArray
    rebate_cap: FloatArray
    front_end: BoolArray
    # quota (G,)
    quota_prior: BoolArray
    quota_amount: FloatArray
    quota_growth: FloatArray
    quota_floor: FloatArray
    # accelerators (G, A)
    acc_threshold: FloatArray
    acc_quota_fraction: FloatArray
    acc_multiplier: FloatArray
    acc_cap: FloatArray
    # accelerators on a horizon of their own (G, H) and pacers (G, P): see program.horizons
    hacc_horizon: IntArray
    hacc_threshold: FloatArray
    hacc_quota_fraction: FloatArray
    hacc_multiplier: FloatArray
    hacc_cap: FloatArray
    pacer_horizon: IntArray
    pacer_every: IntArray
    pacer_target: FloatArray
    pacer_quota_fraction: FloatArray
    pacer_reward: FloatArray
    # bonuses on windows shorter than the period (G, B): see program.windows
    bonus_threshold: FloatArray
    bonus_reward: FloatArray
    bonus_rate: FloatArray
    # spiffs (G, S): what they pay, when, on which deals
    spiff_per_deal: FloatArray
    spiff_uplift: FloatArray
    spiff_cap: FloatArray
    spiff_start_week: IntArray
    spiff_end_week: IntArray
    spiff_deal_type: IntArray  # index into DEAL_TYPES
    spiff_requires_registration: BoolArray
    # co-sell (G,)
    co_sell_rate: FloatArray
    co_sell_min_tier: IntArray
    co_sell_cap: FloatArray
    co_sell_requires_registration: BoolArray
    co_delivery_share: FloatArray
    # mdf (G,)
    mdf_reimbursement: FloatArray
    mdf_expiry: IntArray
    mdf_cap: FloatArray
    mdf_approval_lag_weeks: FloatArray
    # milestones (G, M)
    ms_tier: IntArray
    ms_length: IntArray
    ms_reward: FloatArray
    ms_tolerance: IntArray
    ms_step: BoolArray
    ms_repeatable: BoolArray
    # guardrails (G,)
    clawback_on_returns: BoolArray
    audit_rate: FloatArray
    audit_detection: FloatArray
    audit_penalty: FloatArray
    registration_check: BoolArray  # duplicate registrations are checked at entry
    registration_detection: FloatArray  # 0 without a duplicate check
    registration_protection_days: FloatArray
    csat_guarded: BoolArray  # a satisfaction gate or a tier satisfaction requirement
    csat_gate: FloatArray
    csat_gate_fraction: FloatArray
    csat_gate_applies: BoolArray  # (G, len(GATEABLE))
    partner_cap: FloatArray
    # remediation (G,)
    remediation: BoolArray
    remediation_trigger: IntArray
    remediation_duration: IntArray
    remediation_capacity_uplift: FloatArray
    remediation_win_rate_uplift: FloatArray
    # payout schedule (G,)
    payout_cadence: IntArray
    payout_delay_weeks: IntArray
    defer_shortfall: BoolArray  # shortfall policy "defer" (else pro rata)
    true_up: BoolArray


@dataclass(frozen=True)
class BudgetTerms:
    """The program-wide money pool every group's payouts draw on (currency units).

    ``per_period`` is ``None`` for an unlimited budget; ``reserve_max`` ``None`` for no ceiling.
    """

    per_period: float | None
    reserve_initial: float
    reserve_max: float | None
    reserve_fixed_per_period: float
    reserve_unspent_share: float


@dataclass(frozen=True)
class CompiledProgram(GroupTerms):
    """A program's terms per group (the :class:`GroupTerms` arrays) and program-wide.

    ``spiff_product`` is, per group and SPIFF, the product a SPIFF pays on (``None``: any).
    ``accelerator_names`` are the accelerators assessed every period (the ``acc_*`` arrays);
    those on a longer horizon are ``horizon_accelerator_names`` (``hacc_*``).
    ``bonus_names`` are the bonuses on windows of ``bonus_weeks`` weeks inside the period (0
    without a bonus; :mod:`incentsim.program.windows`).
    ``awards`` are the category awards (:mod:`incentsim.program.awards`).
    """

    group_names: tuple[str, ...]
    tier_names: tuple[str, ...]
    accelerator_names: tuple[str, ...]
    horizon_accelerator_names: tuple[str, ...]
    pacer_names: tuple[str, ...]
    bonus_names: tuple[str, ...]
    bonus_weeks: int
    spiff_names: tuple[str, ...]
    milestone_names: tuple[str, ...]
    spiff_product: tuple[tuple[str | None, ...], ...]
    currency: str
    budget: BudgetTerms
    awards: AwardTerms = field(default_factory=AwardTerms.none)
    _gathered: list[PartnerTerms] = field(default_factory=list, repr=False, compare=False)

    def at(self, group: IntArray) -> PartnerTerms:
        """Every per-group term gathered at each partner's group.

        The last result is cached, keyed on the values of ``group`` (compared with a private copy
        unless ``group`` is read-only, so a group array changed in place is gathered again), so a
        simulation that passes the same groups every week gathers once.
        """
        if self._gathered and self._gathered[0].serves(group):
            return self._gathered[0]
        terms = PartnerTerms.gather(self, group)
        self._gathered[:] = [terms]
        return terms

    @property
    def n_groups(self) -> int:
        """Number of partner groups."""
        return len(self.group_names)

    @property
    def n_tiers(self) -> int:
        """Number of tiers."""
        return len(self.tier_names)

    @property
    def window(self) -> int:
        """Longest look-back window over groups (periods of history the state keeps)."""
        return int(self.lookback.max())

    @property
    def mdf_buckets(self) -> int:
        """Longest MDF expiry over groups (age buckets the state keeps)."""
        return int(self.mdf_expiry.max())

    @property
    def uses_csat(self) -> bool:
        """True when some group gates on or requires customer satisfaction."""
        return bool(self.csat_guarded.any())


@dataclass(frozen=True, eq=False)
class PartnerTerms(GroupTerms):
    """A compiled program's per-group arrays at each partner's group: ``array[group]``, so a
    ``(G, T)`` table becomes ``(..., N, T)`` (read-only: every call the cache serves shares
    them), with what the rules engine derives from them once.

    ``tier_threshold`` is each tier's revenue threshold per period (its requirement over the
    look-back window), ``acc_excess`` is ``acc_multiplier - 1`` and ``acc_up`` marks
    accelerators (not decelerators); the flags let the rules engine skip work that cannot change
    a result (no marginal group, no cap set, an accelerator above or below 1 in every group...).
    """

    group: IntArray
    source: GroupTerms
    tier_threshold: FloatArray
    acc_excess: FloatArray
    acc_up: BoolArray
    any_marginal: bool
    any_hysteresis: bool
    full_window: bool
    any_remediation: bool
    every_period: bool
    acc_all_up: tuple[bool, ...]
    acc_all_down: tuple[bool, ...]
    acc_uncapped: bool
    rebate_uncapped: bool
    acc_only_adds: bool
    requires: dict[str, bool]
    _group_seen: _Seen
    _tier_base: IntArray
    _tier_sources: dict[int, FloatArray]
    _allowed_cache: dict[tuple[str, ...], tuple[tuple[_Seen, ...], IntArray]] = field(
        default_factory=dict
    )
    _met_cache: dict[str, tuple[_Seen, _Seen | None, IntArray]] = field(default_factory=dict)
    _scaled_floors: dict[str, tuple[_Seen, tuple[FloatArray, ...]]] = field(default_factory=dict)
    _columns: dict[str, tuple[FloatArray, ...]] = field(default_factory=dict)
    _floor_values: dict[str, tuple[FloatArray | float, ...]] = field(default_factory=dict)
    _memo: dict[str, tuple[object, object]] = field(default_factory=dict)

    @classmethod
    def gather(cls, cp: CompiledProgram, group: IntArray) -> PartnerTerms:
        """The terms of ``cp`` at each partner's ``group``."""
        tables: dict[str, Any] = {
            f.name: _frozen(getattr(cp, f.name)[group]) for f in fields(GroupTerms)
        }
        # Each per-tier table's per-group source, flat, by the gathered table's identity: a
        # table read at each partner's tier is then read from the small per-group table.
        tier_sources = {
            id(tables[f.name]): np.ascontiguousarray(getattr(cp, f.name)).reshape(-1)
            for f in fields(GroupTerms)
            if np.ndim(getattr(cp, f.name)) == 2 and np.shape(getattr(cp, f.name))[1] == cp.n_tiers
        }
        multiplier = tables["acc_multiplier"]
        return cls(
            **tables,
            group=group,
            source=cp,
            tier_threshold=_frozen(tables["req_revenue"] / tables["lookback"][..., None]),
            acc_excess=_frozen(multiplier - 1.0),
            acc_up=_frozen(multiplier >= 1.0),
            any_marginal=bool(cp.marginal.any()),
            any_hysteresis=bool((cp.maintain_fraction < 1.0).any()),
            full_window=bool((cp.lookback == cp.window).all()),
            any_remediation=bool(cp.remediation.any()),
            every_period=bool((cp.cadence == 1).all()),
            # Per accelerator: an accelerator (or a decelerator) in every group.
            acc_all_up=tuple(bool(up) for up in np.all(cp.acc_multiplier >= 1.0, axis=0).tolist()),
            acc_all_down=tuple(
                bool(down) for down in np.all(cp.acc_multiplier < 1.0, axis=0).tolist()
            ),
            acc_uncapped=bool((cp.acc_cap == np.inf).all()),
            rebate_uncapped=bool((cp.rebate_cap == np.inf).all()),
            acc_only_adds=bool(
                (cp.acc_multiplier >= 1.0).all()
                and (cp.acc_cap >= 0.0).all()
                and (cp.rebate_rate >= 0.0).all()
            ),
            requires={
                metric: bool(getattr(cp, f"req_{metric}").any())
                for metric in ("revenue", "new_logos", "certified_staff", "csat")
            },
            _group_seen=_Seen(group),
            _tier_base=np.asarray(group, dtype=np.int64) * cp.n_tiers,
            _tier_sources=tier_sources,
        )

    def serves(self, group: IntArray) -> bool:
        """True when these terms were gathered for groups equal to ``group``."""
        return group is self.group and self._group_seen.holds(group)

    def table(self, name: str) -> NDArray[Any]:
        """The per-group array ``name`` before gathering."""
        value: NDArray[Any] = getattr(self.source, name)
        return value

    def at_tier(self, table: FloatArray, tier: IntArray) -> FloatArray:
        """A per-tier table ``(..., N, T)`` read at each partner's tier (tier 0 where below 0)."""
        held = np.maximum(tier, 0)
        source = self._tier_sources.get(id(table))
        if source is not None and held.shape == self._tier_base.shape:
            # The same values as the gathered table's, read from the per-group ``(G, T)`` table,
            # which stays in cache: several times faster than gathering from ``(..., N, T)``.
            np.add(held, self._tier_base, out=held)
            by_group: FloatArray = source[held]
            return by_group
        if held.shape != table.shape[:-1]:
            return np.take_along_axis(table, held[..., None], axis=-1)[..., 0]
        flat = np.arange(held.size) * table.shape[-1] + held.reshape(-1)
        gathered: FloatArray = table.reshape(-1)[flat].reshape(held.shape)
        return gathered

    def tier_columns(self, name: str) -> tuple[FloatArray, ...]:
        """A per-tier table ``(..., N, T)`` as one contiguous ``(..., N)`` array per tier."""
        return self._split(name, lambda: self.table(name))

    def _split(self, key: str, table: Callable[[], FloatArray]) -> tuple[FloatArray, ...]:
        """A per-group, per-tier table ``(G, T)`` gathered at each partner's group one tier at
        a time, once per key."""
        if key not in self._columns:
            values = table()
            self._columns[key] = tuple(values[:, k][self.group] for k in range(values.shape[-1]))
        return self._columns[key]

    def tiers_met(
        self, metric: str, values: FloatArray, scale: FloatArray | float | None = None
    ) -> IntArray:
        """How many tiers' requirements on ``metric`` the ``values`` meet (``scale`` multiplies
        the requirements).

        Requirements never fall as tiers rise (the program is validated so), so the tiers met
        are the lowest ones and their count says which. Tiers are compared one at a time, one
        ``(..., N)`` comparison each: several times faster than broadcasting against the
        ``(..., N, T)`` table and summing over the short tier axis, for the same counts.
        """
        floors: tuple[FloatArray | float, ...] = (
            self._floors(metric) if scale is None else self._floors_scaled(metric, scale)
        )
        # Counted in bytes (a quarter of the memory traffic; a comparison's booleans are read as
        # bytes without a copy), returned as int64.
        if len(floors) > np.iinfo(np.int8).max:
            return sum((values >= floor).astype(np.int64) for floor in floors)  # type: ignore[return-value]
        met = (values >= floors[0]).view(np.int8)
        for floor in floors[1:]:
            met += (values >= floor).view(np.int8)
        return met.astype(np.int64)

    def _floors(self, metric: str) -> tuple[FloatArray | float, ...]:
        """Each tier's floor on ``metric`` (its requirement less the tolerance): one number
        where every group has the same requirement, which compares faster, else per partner."""
        key = f"floor_{metric}"
        if key not in self._floor_values:
            table = self.table(f"req_{metric}") - REQUIREMENT_TOLERANCE
            columns = self._split(key, lambda: table)
            self._floor_values[key] = tuple(
                float(table[0, k]) if (table[:, k] == table[0, k]).all() else column
                for k, column in enumerate(columns)
            )
        return self._floor_values[key]

    def _floors_scaled(self, metric: str, scale: FloatArray | float) -> tuple[FloatArray, ...]:
        """Each tier's floor on ``metric`` with its requirement multiplied by ``scale``,
        remembered for the last ``scale`` array seen per metric (hysteresis passes the same
        maintenance fractions for every hypothetical revenue)."""
        cached = self._scaled_floors.get(metric)
        if cached is not None and isinstance(scale, np.ndarray) and cached[0].holds(scale):
            return cached[1]
        floors = tuple(
            req * scale - REQUIREMENT_TOLERANCE for req in self.tier_columns(f"req_{metric}")
        )
        if isinstance(scale, np.ndarray):
            self._scaled_floors[metric] = (_Seen(scale), floors)
        return floors

    def tiers_allowed(
        self, new_logos: FloatArray | None, certified_staff: FloatArray, csat: FloatArray
    ) -> IntArray | None:
        """How many tiers the metrics other than revenue allow (``None``: no tier requires
        any of them). ``new_logos`` is ``None`` when the caller counts it itself.

        Cached on the values of the arrays (compared with private copies unless read-only, so
        arrays changed in place are counted again): partners weighing several hypothetical
        revenues in a week pass the same arrays each time.
        """
        given = {"new_logos": new_logos, "certified_staff": certified_staff, "csat": csat}
        metrics = {m: v for m, v in given.items() if v is not None and self.requires[m]}
        if not metrics:
            return None
        key = tuple(metrics)
        cached = self._allowed_cache.get(key)
        if cached is not None and all(
            seen.holds(metrics[m]) for m, seen in zip(key, cached[0], strict=True)
        ):
            return cached[1]
        allowed: IntArray | None = None
        for metric, values in metrics.items():
            met = self.tiers_met_seen(metric, values)
            allowed = met if allowed is None else np.minimum(allowed, met)
        assert allowed is not None
        allowed.setflags(write=False)  # shared by the calls the cache serves
        self._allowed_cache[key] = (tuple(_Seen(v) for v in metrics.values()), allowed)
        return allowed

    def tiers_met_seen(
        self, metric: str, values: FloatArray, scale: FloatArray | None = None
    ) -> IntArray:
        """:meth:`tiers_met` (read-only), remembered for the last values and ``scale`` array
        seen per metric and whether scaled: partners weighing hypothetical revenues pass the
        same metrics other than revenue (certified staff rarely changes)."""
        key = metric if scale is None else f"{metric} scaled"
        cached = self._met_cache.get(key)
        if (
            cached is not None
            and cached[0].holds(values)
            and (cached[1] is None or cached[1].holds(scale))
        ):
            return cached[2]
        met = _frozen(self.tiers_met(metric, values, scale))
        self._met_cache[key] = (_Seen(values), None if scale is None else _Seen(scale), met)
        return met

    def memo(self, key: str, anchor: object, make: Callable[[], _Memo]) -> _Memo:
        """``make()``, remembered while ``anchor`` is the same object as last time.

        The rules engine keeps here what it derives from a program state that does not change
        between period closes (the state's arrays are never changed in place), so partners
        weighing many hypothetical revenues in a period derive it once.
        """
        cached = self._memo.get(key)
        if cached is not None and cached[0] is anchor:
            return cached[1]  # type: ignore[return-value]
        value = make()
        self._memo[key] = (anchor, value)
        return value


def budget_terms(budget: Budget) -> BudgetTerms:
    """The program-wide terms of a program's budget."""
    return BudgetTerms(
        per_period=budget.per_period,
        reserve_initial=budget.reserve.initial,
        reserve_max=budget.reserve.max,
        reserve_fixed_per_period=budget.reserve.contribution.fixed_per_period,
        reserve_unspent_share=budget.reserve.contribution.unspent_share,
    )


def compile_program(
    program: Program, segments: Sequence[str] = ("all",), regions: Sequence[str] = ("all",)
) -> CompiledProgram:
    """Resolve overrides for every segment x region group and stack the terms.

    Groups are ordered segment-major (:class:`~incentsim.groups.Groups`):
    ``group = segment_index * len(regions) + region_index``.

    Parameters
    ----------
    program
        The validated program.
    segments, regions
        Names of the population's segments and regions, in the population's order.
    """
    groups = Groups.of(segments, regions)
    resolved = [program.resolved(segment, region) for segment, region in groups]
    tiers = program.tier_names
    tier_index = {name: i for i, name in enumerate(tiers)}

    def per_group(get: Callable[[Program], Any], dtype: Any = np.float64) -> NDArray[Any]:
        return np.array([get(p) for p in resolved], dtype=dtype)

    def per_tier(get: Callable[[Program, Any], Any]) -> FloatArray:
        return np.array([[get(p, p.tiers[t]) for t in tiers] for p in resolved], dtype=np.float64)

    def per_item(part: str, get: Callable[[Any], Any], dtype: Any = np.float64) -> NDArray[Any]:
        keys = (
            period_accelerators(program) if part == "accelerators" else list(getattr(program, part))
        )
        return np.array(
            [[get(getattr(p, part)[k]) for k in keys] for p in resolved], dtype=dtype
        ).reshape(len(resolved), len(keys))

    def benefits(effect: str) -> FloatArray:
        return per_tier(lambda p, t: sum(getattr(b, effect) for b in t.benefits.values()))

    def gate(p: Program) -> Any:
        return p.guardrails.csat_gate

    registration = [p.guardrails.deal_registration for p in resolved]
    return CompiledProgram(
        group_names=groups.names,
        tier_names=tuple(tiers),
        accelerator_names=tuple(period_accelerators(program)),
        horizon_accelerator_names=tuple(horizon_accelerators(program)),
        pacer_names=tuple(program.pacers),
        bonus_names=tuple(program.bonuses),
        bonus_weeks=window_weeks(program),
        spiff_names=tuple(program.spiffs),
        milestone_names=tuple(program.milestones),
        spiff_product=tuple(tuple(s.product for s in p.spiffs.values()) for p in resolved),
        currency=program.currency,
        budget=budget_terms(program.budget),
        awards=compile_awards(program, resolved, segments, regions),
        req_revenue=per_tier(lambda p, t: t.requirements.revenue),
        req_new_logos=per_tier(lambda p, t: t.requirements.new_logos),
        req_certified_staff=per_tier(lambda p, t: t.requirements.certified_staff),
        req_csat=per_tier(lambda p, t: t.requirements.csat),
        rebate_rate=per_tier(lambda p, t: t.rebate_rate),
        mdf_rate=per_tier(
            lambda p, t: p.mdf.accrual_rate if t.mdf_accrual_rate is None else t.mdf_accrual_rate
        ),
        benefit_win_rate_uplift=benefits("win_rate_uplift"),
        benefit_deal_size_uplift=benefits("deal_size_uplift"),
        benefit_ramp_speedup=benefits("ramp_speedup"),
        benefit_loyalty_uplift=benefits("loyalty_uplift"),
        benefit_cost=benefits("cost_per_partner"),
        cadence=per_group(lambda p: p.evaluation.cadence_periods, np.int64),
        lookback=per_group(lambda p: p.evaluation.lookback_periods, np.int64),
        grace=per_group(lambda p: p.evaluation.grace_periods, np.int64),
        maintain_fraction=per_group(lambda p: p.evaluation.maintain_fraction),
        marginal=per_group(lambda p: p.rebate.basis == "marginal", np.bool_),
        rebate_cap=per_group(lambda p: _cap(p.rebate.cap)),
        front_end=per_group(lambda p: p.rebate.timing == "front_end", np.bool_),
        quota_prior=per_group(lambda p: p.quota.basis == "prior", np.bool_),
        quota_amount=per_group(lambda p: p.quota.amount),
        quota_growth=per_group(lambda p: p.quota.growth),
        quota_floor=per_group(lambda p: p.quota.floor),
        acc_threshold=per_item("accelerators", lambda a: a.threshold or 0.0),
        acc_quota_fraction=per_item("accelerators", lambda a: a.quota_fraction or 0.0),
        acc_multiplier=per_item("accelerators", lambda a: a.multiplier),
        acc_cap=per_item("accelerators", lambda a: _cap(a.cap)),
        **horizon_terms(program, resolved),
        **bonus_terms(program, resolved),
        spiff_per_deal=per_item("spiffs", lambda s: s.amount_per_deal),
        spiff_uplift=per_item("spiffs", lambda s: s.uplift_rate),
        spiff_cap=per_item("spiffs", lambda s: _cap(s.cap)),
        spiff_start_week=per_item("spiffs", lambda s: s.start_week, np.int64),
        spiff_end_week=per_item("spiffs", lambda s: s.end_week, np.int64),
        spiff_deal_type=per_item("spiffs", lambda s: DEAL_TYPES.index(s.deal_type), np.int64),
        spiff_requires_registration=per_item("spiffs", lambda s: s.requires_registration, np.bool_),
        co_sell_rate=per_group(lambda p: p.co_sell.rate),
        co_sell_min_tier=per_group(
            lambda p: tier_index.get(p.co_sell.min_tier or tiers[0], 0), np.int64
        ),
        co_sell_cap=per_group(lambda p: _cap(p.co_sell.cap)),
        co_sell_requires_registration=per_group(
            lambda p: p.co_sell.requires_registration, np.bool_
        ),
        co_delivery_share=per_group(lambda p: p.guardrails.co_delivery_share),
        mdf_reimbursement=per_group(lambda p: p.mdf.reimbursement_rate),
        mdf_expiry=per_group(lambda p: p.mdf.expiry_periods, np.int64),
        mdf_cap=per_group(lambda p: _cap(p.mdf.cap)),
        mdf_approval_lag_weeks=per_group(lambda p: p.mdf.approval_lag_weeks),
        ms_tier=per_item("milestones", lambda m: tier_index[m.tier], np.int64),
        ms_length=per_item("milestones", lambda m: m.consecutive_periods, np.int64),
        ms_reward=per_item("milestones", lambda m: m.reward),
        ms_tolerance=per_item("milestones", lambda m: m.tolerance_periods, np.int64),
        ms_step=per_item("milestones", lambda m: m.decay == "step", np.bool_),
        ms_repeatable=per_item("milestones", lambda m: m.repeatable, np.bool_),
        clawback_on_returns=per_group(lambda p: p.guardrails.clawback_on_returns, np.bool_),
        audit_rate=per_group(lambda p: p.guardrails.audit.rate),
        audit_detection=per_group(lambda p: p.guardrails.audit.detection_probability),
        audit_penalty=per_group(lambda p: p.guardrails.audit.penalty_multiplier),
        registration_check=np.array([r.duplicate_check for r in registration], dtype=np.bool_),
        registration_detection=np.array(
            [r.detection_rate if r.duplicate_check else 0.0 for r in registration]
        ),
        registration_protection_days=np.array([float(r.protection_days) for r in registration]),
        csat_guarded=per_group(
            lambda p: gate(p) is not None or any(t.requirements.csat > 0 for t in p.tiers.values()),
            np.bool_,
        ),
        csat_gate=per_group(lambda p: 0.0 if gate(p) is None else gate(p).min_score),
        csat_gate_fraction=per_group(lambda p: 1.0 if gate(p) is None else gate(p).payout_fraction),
        csat_gate_applies=np.array(
            [[gate(p) is not None and c in gate(p).applies_to for c in GATEABLE] for p in resolved],
            dtype=np.bool_,
        ),
        partner_cap=per_group(lambda p: _cap(p.partner_cap)),
        remediation=per_group(lambda p: p.remediation.enabled, np.bool_),
        remediation_trigger=per_group(lambda p: p.remediation.trigger_periods, np.int64),
        remediation_duration=per_group(lambda p: p.remediation.duration_periods, np.int64),
        remediation_capacity_uplift=per_group(lambda p: p.remediation.capacity_uplift),
        remediation_win_rate_uplift=per_group(lambda p: p.remediation.win_rate_uplift),
        payout_cadence=per_group(lambda p: p.budget.payout.cadence_periods, np.int64),
        payout_delay_weeks=per_group(lambda p: p.budget.payout.delay_weeks, np.int64),
        defer_shortfall=per_group(lambda p: p.budget.shortfall_policy == "defer", np.bool_),
        true_up=per_group(lambda p: p.budget.true_up.enabled, np.bool_),
    )
