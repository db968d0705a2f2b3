"""Circuit breakers shared by every worker (`circuit(...)`), and their states for the operator."""

from failure_handlers.circuits.breaker import (
    Circuit,
    CircuitBreaker,
    CircuitLimits,
    circuit,
    counts_as_failure,
    validate_circuit_name,
)
from failure_handlers.circuits.listing import CircuitState, list_circuits
from failure_handlers.errors import CircuitOpen

__all__ = [
    "Circuit",
    "CircuitBreaker",
    "CircuitLimits",
    "CircuitOpen",
    "CircuitState",
    "circuit",
    "counts_as_failure",
    "list_circuits",
    "validate_circuit_name",
]
