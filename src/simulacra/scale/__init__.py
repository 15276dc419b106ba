"""Scale-out: any generator's units of work on this process, local processes, or a Ray cluster.

Same job and seed, same bytes, whatever runs the units (see :mod:`simulacra.scale.executor`).
"""

from .executor import ENGINES, Job, connect_ray, run_job, staging_dir

__all__ = ["ENGINES", "Job", "connect_ray", "run_job", "staging_dir"]
