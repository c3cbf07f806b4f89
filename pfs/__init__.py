"""pfs — Pay for Success contract simulator.

A vectorised Monte Carlo engine for outcome-based contracts (social impact bonds):
uncertain programme effects, noisy evaluations, payment rules with thresholds and
caps, capital stacks with waterfalls and guarantees, and the government's view
against fee-for-service.
"""

from pfs import finance
from pfs.engine import compare, simulate
from pfs.results import Comparison, Results
from pfs.scenario import (
    PfsError,
    Scenario,
    ScenarioError,
    default_scenario_path,
    dump_scenario,
    load_scenario,
    parse_scenario_text,
    scenario_from_dict,
    scenarios_dir,
)

__all__ = [
    "Comparison",
    "PfsError",
    "Results",
    "Scenario",
    "ScenarioError",
    "compare",
    "default_scenario_path",
    "dump_scenario",
    "finance",
    "load_scenario",
    "parse_scenario_text",
    "scenario_from_dict",
    "scenarios_dir",
    "simulate",
]
__version__ = "0.1.0"
