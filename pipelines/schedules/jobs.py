"""The two jobs operators (and the schedules and sensors) launch, one period per run.

* ``period_draft``: the whole graph of a period except the release: ingest of
  every sector, reference tables, dbt models and tests, the quality gate and
  its report (``reports/<period>/quality_report.html``), the rank robustness.
  Nothing is published.
* ``period_official``: the same, plus ``publish/release``. The publish step
  refuses unless the blocking checks ran and passed in the same run.

Both are partitioned by period (``YYYY``, ``YYYYH1``, ``YYYYH2``), like every
asset that depends on a period; the reference tables (not partitioned) and the
dbt models (partitioned, though they cover every period) are rebuilt in each
run, and a backfill of several periods is one run (a range of partitions; see
``pipelines.partitions``). Every step learns its periods one way,
``pipelines.partitions.run_periods(context)`` (``context.partition_keys``). Both carry the run tag
``cri/warehouse: write``, which the production ``dagster.yaml`` limits to one run at a time, and execute every
step in one process (the in-process executor), the warehouse resource holding the warehouse lock for the whole
run (``pipelines.resources``, ``lock.py``).
"""

from __future__ import annotations

import dagster as dg

from pipelines.publish.assets import RELEASE_KEY

WAREHOUSE_TAG = "cri/warehouse"
KIND_TAG = "cri/kind"
TRIGGER_TAG = "cri/trigger"
PRIORITY_TAG = "dagster/priority"
DRAFT, OFFICIAL = "draft", "official"
DRAFT_JOB, OFFICIAL_JOB = "period_draft", "period_official"
# Official runs jump the queue ahead of drafts.
PRIORITY = {DRAFT: "0", OFFICIAL: "10"}

period_draft = dg.define_asset_job(
    DRAFT_JOB,
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(RELEASE_KEY),
    description=(
        "Bản nháp của một kỳ: nạp số liệu mọi ngành, tính toán, kiểm tra chất lượng và viết báo cáo chất lượng; "
        "không công bố.\n\nDraft of one period: ingest every sector, build the models, run every quality check and "
        "write the quality report; nothing is published."
    ),
    tags={WAREHOUSE_TAG: "write", KIND_TAG: DRAFT},
    run_tags={WAREHOUSE_TAG: "write", KIND_TAG: DRAFT, PRIORITY_TAG: PRIORITY[DRAFT]},
    executor_def=dg.in_process_executor,
)

period_official = dg.define_asset_job(
    OFFICIAL_JOB,
    selection=dg.AssetSelection.all(),
    description=(
        "Lần chạy chính thức của một kỳ: như bản nháp, rồi công bố nếu mọi kiểm tra chặn đều đạt.\n\n"
        "Official run of one period: the draft, then a new release when every blocking check passed."
    ),
    tags={WAREHOUSE_TAG: "write", KIND_TAG: OFFICIAL},
    run_tags={WAREHOUSE_TAG: "write", KIND_TAG: OFFICIAL, PRIORITY_TAG: PRIORITY[OFFICIAL]},
    executor_def=dg.in_process_executor,
)
