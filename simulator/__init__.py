"""Deterministic, realistic smartwatch data for every source of the contract."""

from simulator.generate import (
    Dataset,
    KafkaRecord,
    Registration,
    SimulationConfig,
    generate,
)

__all__ = ["Dataset", "KafkaRecord", "Registration", "SimulationConfig", "generate"]
