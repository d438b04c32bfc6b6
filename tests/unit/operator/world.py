"""A tiny in-memory stand-in for what the planner observes, so lifecycle tests can play scenarios.

It does what the deployment controller and kubelet would: a replicas change bumps the generation; pods
appear only when a test says a component became Ready (or stuck), and go away when scaled to zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from tradingbot_operator.api.types import StartupPolicy, TradingBotSpec
from tradingbot_operator.planner.catalog import ComponentPlan, resolve_components
from tradingbot_operator.planner.graph import dependency_graph, startup_order
from tradingbot_operator.planner.lifecycle import Decision, Memory, Mode, decide
from tradingbot_operator.planner.observed import Observed, ObservedDeployment, ObservedPod

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@dataclass
class World:
    plans: list[ComponentPlan]
    policy: StartupPolicy = field(default_factory=StartupPolicy)
    deployments: dict[str, ObservedDeployment] = field(default_factory=dict)
    pods: dict[str, tuple[ObservedPod, ...]] = field(default_factory=dict)
    memory: Memory = field(default_factory=Memory)
    now: datetime = T0
    generation: int = 1
    stuck: set[str] = field(default_factory=set)  # components whose pods never become Ready
    lingering: set[str] = field(
        default_factory=set
    )  # components whose pods stay Terminating when scaled down
    history: list[tuple[str, str, int]] = field(default_factory=list)  # (action, component, replicas)
    restarted: list[str] = field(default_factory=list)

    @classmethod
    def for_spec(cls, spec: dict | None = None, **kwargs: object) -> World:
        parsed = TradingBotSpec.model_validate(spec or {})
        plans = resolve_components(parsed, "img:test")
        graph = dependency_graph(plans)
        order = startup_order(plans, graph)
        return cls(sorted(plans, key=lambda p: order.index(p.name)), policy=parsed.startup, **kwargs)

    @property
    def graph(self) -> dict[str, frozenset[str]]:
        return dependency_graph(self.plans)

    def observed(self) -> Observed:
        return Observed(deployments=dict(self.deployments), pods=dict(self.pods))

    def peek(self, mode: Mode = Mode.RUN) -> Decision:
        """The planner's decision for the current state, without acting on it."""
        return decide(
            self.plans, self.graph, self.observed(), self.memory, self.policy, mode, self.generation, self.now
        )

    def step(self, mode: Mode = Mode.RUN) -> Decision:
        decision = self.peek(mode)
        self.memory = Memory(startup=decision.startup, ready_generation=decision.ready_generation)
        assert set(decision.verdicts) == {p.name for p in self.plans}, "every component needs a verdict"
        for name, replicas in decision.replicas.items():
            current = self.deployments.get(name)
            restart = name in decision.restarts
            if restart:
                self.restarted.append(name)
            if current is None:
                self.history.append(("create", name, replicas))
                self.deployments[name] = ObservedDeployment(
                    name, generation=1, observed_generation=1, replicas=replicas
                )
            elif current.replicas != replicas or restart:
                self.history.append(("scale" if current.replicas != replicas else "restart", name, replicas))
                self.deployments[name] = replace(
                    current,
                    replicas=replicas,
                    generation=current.generation + 1,
                    observed_generation=current.generation + 1,
                    ready_replicas=0,
                    available_replicas=0,
                    updated_replicas=0,
                )
        self._kubelet()
        return decision

    def _kubelet(self) -> None:
        """Pods follow replicas at once; they are Ready unless the component is stuck."""
        for name, d in self.deployments.items():
            ready = name not in self.stuck
            count = d.replicas
            self.pods[name] = tuple(
                ObservedPod(f"{name}-{i}", name, ready=ready, terminating=False) for i in range(count)
            )
            if not count and name in self.lingering:
                self.pods[name] = (ObservedPod(f"{name}-0", name, ready=False, terminating=True),)
            elif not count:
                self.pods.pop(name, None)
            n = count if ready else 0
            self.deployments[name] = replace(
                d, ready_replicas=n, available_replicas=n, updated_replicas=count
            )

    def settle(self, mode: Mode = Mode.RUN, limit: int = 30) -> Decision:
        """Reconcile until nothing changes (the fixed point a level-triggered operator reaches)."""
        decision = self.step(mode)
        for _ in range(limit):
            before = (dict(self.deployments), self.memory)
            decision = self.step(mode)
            if (dict(self.deployments), self.memory) == before:
                return decision
        raise AssertionError("planner did not converge")

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def created(self) -> list[str]:
        return [name for action, name, _ in self.history if action == "create"]

    def stopped_before(self, first: str, second: str) -> bool:
        """`first` was scaled to zero before `second` (or in the same reconcile)."""
        order = self.scaled_down()
        return order.index(first) <= order.index(second)

    def scaled_down(self) -> list[str]:
        return [name for action, name, replicas in self.history if action == "scale" and replicas == 0]
