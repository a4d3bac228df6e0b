"""The result types of the waiaas methods (``TypedDict`` classes; results are plain dicts).

``from waiaas.types import TransactionResponse`` (also ``from waiaas import ...``).
"""

from ._types import *  # noqa: F401,F403
from ._types import __all__ as __all__  # noqa: F401
