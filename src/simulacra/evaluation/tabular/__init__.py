"""Checks for tables: :mod:`.fidelity` (accuracy over binned columns and pairs, :mod:`.binning`),
:mod:`.utility` (train-synthetic, test-real), :mod:`.privacy` (copies, distance to closest record,
membership inference, PII) and :mod:`.detection`; each builds its report section beside its metrics,
:mod:`.report` assembles them and :mod:`.plots` draws their figures."""
