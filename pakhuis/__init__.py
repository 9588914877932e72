"""pakhuis core: settings, the canonical Reading and quantity vocabulary, errors and the store.

The other rooms (ingest, stream, geo, api, sensors_sim) build on this package; it imports none
of them, except the CLI (`pakhuis.cli`), which is the composition root.
"""

from pakhuis.errors import PakhuisError
from pakhuis.quantities import QUANTITIES, Quantity, QuantitySpec, SensorKind
from pakhuis.reading import DeadLetter, Envelope, QualityLabel, Reading, Rejection

__all__ = [
    "QUANTITIES",
    "DeadLetter",
    "Envelope",
    "PakhuisError",
    "QualityLabel",
    "Quantity",
    "QuantitySpec",
    "Reading",
    "Rejection",
    "SensorKind",
]

__version__ = "0.1.0"
