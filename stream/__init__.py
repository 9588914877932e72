"""Stream: the handlers that turn envelopes into stored readings, and the runners that drive them.

The handlers are plain classes; the asyncio local runner (embedded mode) and, later, the Faust
agents (distributed mode) are thin shells around them, so both modes store the same rows.
"""

from stream.handlers import PersistHandler, PersistOutcome
from stream.live import MinuteAggregate, MinuteAggregates
from stream.pipeline import PipelineOutcome, StreamPipeline
from stream.runner import BatchCounts, LocalRunner, RunnerStats

__all__ = [
    "BatchCounts",
    "LocalRunner",
    "MinuteAggregate",
    "MinuteAggregates",
    "PersistHandler",
    "PersistOutcome",
    "PipelineOutcome",
    "RunnerStats",
    "StreamPipeline",
]
