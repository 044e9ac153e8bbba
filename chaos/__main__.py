"""`python -m chaos [--short] [--only R1,R3] [--json PATH] [--report PATH]`; `--render PATH`
rewrites the report from the figures of a run (each run keeps them in var/chaos/*/figures.json).
"""

from chaos.cli import main

main()
