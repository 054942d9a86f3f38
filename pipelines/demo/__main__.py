"""``python -m pipelines.demo [--landing-dir DIR] [--periods 2024 2025] [--small] [--seed N]``"""

from pipelines.demo.generate import main

main()
