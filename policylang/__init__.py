"""policylang: executable funding rules for Dutch hospital care.

import policylang
policy = policylang.load("rules/")
for decision in policy.check("examples/claims.csv"):
    print(decision.claim_id, decision.status, decision.payable)
"""

from policylang.api import Explanation, Policy, load, loads
from policylang.decision import Decision, Reason, Summary
from policylang.errors import Diagnostic, InputError, PolicyError
from policylang.impact import Comparison, diff

__all__ = [
    "Comparison",
    "Decision",
    "Diagnostic",
    "Explanation",
    "InputError",
    "Policy",
    "PolicyError",
    "Reason",
    "Summary",
    "diff",
    "load",
    "loads",
]
__version__ = "0.1.0"
