"""Fleet scale: many runs read and analysed on every core, on a Dask cluster, from buckets, cached.

``analyze_paths(paths, jobs=..., scheduler=...)`` is the one execution path of the CLI and the app;
``fleet_summary(analysis)`` says where the money went over all runs.
"""

from .execute import ReadOptions, analyze_paths, default_jobs, load_paths
from .summary import FleetSummary, ModeWaste, RunWaste, fleet_summary

__all__ = ["FleetSummary", "ModeWaste", "ReadOptions", "RunWaste", "analyze_paths", "default_jobs", "fleet_summary", "load_paths"]
