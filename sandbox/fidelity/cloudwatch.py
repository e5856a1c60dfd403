"""CloudWatch percentiles: ExtendedStatistics (p50, p95, p99.9, ...) in GetMetricStatistics and
percentile stats in GetMetricData, which moto 5.2.1 accepts and ignores.

AWS (API_GetMetricStatistics, "Percentiles" in the CloudWatch User Guide): a percentile is
computed from the raw values published in each period; datapoints carry an
`ExtendedStatistics` map from the statistic's name to its value. Published statistic sets
(StatisticValues) have no raw values, so no percentile, as on AWS.
"""

from __future__ import annotations

import math
import re
from typing import Any

_PERCENTILE = re.compile(r"^p(\d{1,2}(\.\d+)?|100)$")


def percentile(values: list[float], name: str) -> float | None:
    """Nearest-rank percentile of raw values, e.g. percentile([...], "p95")."""
    match = _PERCENTILE.match(name)
    if not match or not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(float(match.group(1)) / 100 * len(ordered)))
    return ordered[rank - 1]


def patch() -> None:
    from moto.cloudwatch import models, responses

    statistics = models.Statistics
    original_for_type = statistics.get_statistics_for_type

    def get_statistics_for_type(self: Any, stat: str) -> Any:
        if _PERCENTILE.match(stat):
            return percentile(self.metric_single_values_list, stat)
        return original_for_type(self, stat)

    def extended_statistics(self: Any) -> dict[str, float] | None:
        wanted = getattr(self, "_cct_extended", None)
        if not wanted:
            return None
        found = {name: percentile(self.metric_single_values_list, name) for name in wanted}
        return {k: v for k, v in found.items() if v is not None}

    statistics.get_statistics_for_type = get_statistics_for_type
    statistics.extended_statistics = property(extended_statistics)

    original_response = responses.CloudWatchResponse.get_metric_statistics

    def get_metric_statistics(self: Any) -> Any:
        extended = self._get_param("ExtendedStatistics") or []
        result = original_response(self)
        if extended:
            for datapoint in result.result["Datapoints"] if hasattr(result, "result") else []:
                datapoint._cct_extended = list(extended)
        return result

    responses.CloudWatchResponse.get_metric_statistics = get_metric_statistics
