"""Deterministic, realistic smartwatch data for every source of the contract."""

from ingestion.simulator.generate import (
    Dataset,
    KafkaRecord,
    Registration,
    SimulationConfig,
    generate,
)

__all__ = ["Dataset", "KafkaRecord", "Registration", "SimulationConfig", "generate"]
