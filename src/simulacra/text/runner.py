"""Old import path of the text runner, kept so that existing imports do not break.

The runner now lives in modules that each hold one thing: :mod:`.job` (the job, outcomes, stats),
:mod:`.limiter` (concurrency and retries), :mod:`.pipeline` (the request pipeline and
:func:`generate_range`), :mod:`.checkpoint` (:func:`generate_to_file`, formerly ``run_job``) and
:mod:`.dryrun`. Import from those; ``run_job`` here is :func:`generate_to_file`.
"""

from __future__ import annotations

from .checkpoint import RunResult, agenerate_to_file, generate_to_file, job_identity, side_folder
from .dryrun import dry_run
from .job import GenerationError, Job, Outcome, Stats
from .limiter import AIMDLimiter, RetryPolicy
from .pipeline import Engine, agenerate_range, generate_range

run_job = generate_to_file
arun_job = agenerate_to_file

__all__ = [
    "AIMDLimiter",
    "Engine",
    "GenerationError",
    "Job",
    "Outcome",
    "RetryPolicy",
    "RunResult",
    "Stats",
    "agenerate_range",
    "agenerate_to_file",
    "arun_job",
    "dry_run",
    "generate_range",
    "generate_to_file",
    "job_identity",
    "run_job",
    "side_folder",
]
