"""The clinical knowledge of the service as data a clinician can review: citations, thresholds, value
sets and the rule catalogue (YAML files beside this module), validated at start-up.

Nothing here imports from the data layer (``service.fhir``) or the rules (``service.rules``): both read
from here.
"""

from service.knowledge.knowledge import Knowledge
from service.knowledge.load import KnowledgeError, default_knowledge, load_knowledge

__all__ = ["Knowledge", "KnowledgeError", "default_knowledge", "load_knowledge"]
