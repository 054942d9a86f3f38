"""What every stage may import about quality checks: results (``core``), asset keys (``keys``) and the check
catalogue (``catalogue``). Nothing here imports a stage."""
